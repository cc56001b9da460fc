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
// CommonJS, like bin/run.cjs that requires them: they load in about 17 ms, where the ES module
// loader and the chunks the commands share take 40-60 ms before anything runs. The runner holds
// only what list --offline and completion need; the other commands are in line-actions.cjs, which
// it requires when one runs: the plugin turns that import into a require() of the file, which
// Node would otherwise load through the ES module loader.
const lineActions = {
  name: 'line-actions',
  setup: (b) => {
    b.onResolve({filter: /\/line-actions\.js$/}, () => ({path: 'line-actions', namespace: 'line-actions'}))
    b.onLoad({filter: /.*/, namespace: 'line-actions'}, () => ({contents: "module.exports = require('./line-actions.cjs')", loader: 'js'}))
    b.onResolve({filter: /^\.\/line-actions\.cjs$/}, (a) => ({path: a.path, external: true}))
  },
}
await build({...common, format: 'cjs', entryPoints: [join(root, 'src/cli/runner.ts')], outfile: join(root, 'dist/runner.cjs'), plugins: [lineActions]})
await build({...common, format: 'cjs', entryPoints: [join(root, 'src/cli/line-actions.ts')], outfile: join(root, 'dist/line-actions.cjs')})
