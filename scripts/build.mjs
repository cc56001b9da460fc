// Bundles each command, with shared chunks, so a run loads a handful of files instead of one per
// source module; the runner that skips oclif is one file of its own, since every extra file it
// loads shows in `npm run bench`. Types are checked separately by tsc.
import {build} from 'esbuild'
import {readdirSync, rmSync} from 'node:fs'
import {join, resolve} from 'node:path'

const root = resolve(import.meta.dirname, '..')
const commands = readdirSync(join(root, 'src/commands'))
  .filter((f) => f.endsWith('.ts'))
  .map((f) => [`commands/${f.slice(0, -3)}`, join(root, 'src/commands', f)])
commands.push(['hooks/command-not-found', join(root, 'src/hooks/command-not-found.ts')], ['help', join(root, 'src/cli/help.ts')])
rmSync(join(root, 'dist'), {recursive: true, force: true})
const common = {bundle: true, format: 'esm', platform: 'node', target: 'node20', packages: 'external', logLevel: 'warning'}
await build({...common, entryPoints: Object.fromEntries(commands), outdir: join(root, 'dist'), splitting: true, chunkNames: 'chunks/[name]-[hash]'})
// One CommonJS file, like bin/run.cjs that requires it: it loads in about 17 ms, where the ES
// module loader and the chunks the commands share take 40-60 ms before anything runs. Each action
// in it starts only when called, so `list --offline` runs little more than the registry.
await build({...common, format: 'cjs', entryPoints: [join(root, 'src/cli/runner.ts')], outfile: join(root, 'dist/runner.cjs')})
