// Bundles each command, with shared chunks, so a run loads a handful of files instead of one per
// source module; the runner that skips oclif is one file of its own, since every extra file it
// loads shows in `npm run bench`. Types are checked separately by tsc.

import {readdirSync, rmSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {build} from 'esbuild'

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
// only the declarations and the parser; it requires offline.cjs (list --offline, completion) or
// start-command.cjs (the other commands) as the line asks: the plugin turns those imports into a
// require() of the file, which Node would otherwise load through the ES module loader.
const parts = ['offline', 'start-command']
const separate = {
  name: 'separate-files',
  setup: (b) => {
    const own = new RegExp(`/(${parts.join('|')})\\.js$`)
    b.onResolve({filter: own}, (a) => ({path: own.exec(a.path)[1], namespace: 'separate'}))
    b.onLoad({filter: /.*/, namespace: 'separate'}, (a) => ({contents: `module.exports = require('./${a.path}.cjs')`, loader: 'js'}))
    b.onResolve({filter: /^\.\/[\w-]+\.cjs$/}, (a) => ({path: a.path, external: true}))
  },
}
// The runner (its flags) and list --offline read the table of secret stores (src/store/store-kinds.ts)
// for their kinds and labels, but make no store: what the table imports to make them is left out of
// runner.cjs and offline.cjs, as an empty module (in offline.cjs the stores made its loading 1.6 ms
// slower; in the runner, which every command line loads, they were half of it by size).
const noStores = {
  name: 'no-stores',
  setup: (b) => {
    b.onResolve({filter: /.*/}, (a) =>
      /[/\\]store[/\\]store-kinds\.ts$/.test(a.importer) && a.path.startsWith('.') ? {path: a.path, namespace: 'left-out'} : undefined,
    )
    b.onLoad({filter: /.*/, namespace: 'left-out'}, () => ({contents: 'module.exports = {}', loader: 'js'}))
  },
}
await build({...common, format: 'cjs', entryPoints: [join(root, 'src/cli/runner.ts')], outfile: join(root, 'dist/runner.cjs'), plugins: [separate, noStores]})
for (const part of parts) {
  const plugins = part === 'offline' ? [noStores] : []
  await build({...common, format: 'cjs', entryPoints: [join(root, `src/cli/${part}.ts`)], outfile: join(root, `dist/${part}.cjs`), plugins})
}
