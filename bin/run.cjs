#!/usr/bin/env node
// CommonJS on purpose: it starts faster than an ES module entry, which matters for --version.
const argv = process.argv.slice(2)

async function main() {
  // Answered before anything is loaded: version checks run in scripts and prompts.
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version')) {
    const {version} = require('../package.json')
    process.stdout.write(`mxtok/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
    return
  }
  // Every command runs its action through the runner, which skips oclif (more than 100 ms to load);
  // oclif is left help, completion and any line the runner does not read plainly.
  const {run} = require('../dist/runner.cjs')
  if (await run(argv)) return
  // Subpath imports: the package index loads about 60 more modules than running a command needs.
  const {execute} = require('@oclif/core/execute')
  const {settings} = require('@oclif/core/settings')
  // Without this, NODE_ENV=development/test makes oclif look for TypeScript sources on every run.
  settings.enableAutoTranspile = false
  await execute({dir: __dirname})
}

// Exit as soon as the command is done and its output written: a keychain call abandoned after
// its timeout can stay stuck in native code and would otherwise keep the process alive.
main().then(() => process.stdout.write('', () => process.exit()))
