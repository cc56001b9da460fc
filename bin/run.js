#!/usr/bin/env node
import {fastPath} from '../dist/fast-path.js'

if (!(await fastPath(process.argv.slice(2)))) {
  // Subpath imports: the package index loads about 60 more modules than running a command needs.
  const {execute} = await import('@oclif/core/execute')
  const {settings} = await import('@oclif/core/settings')
  // Without this, NODE_ENV=development/test makes oclif look for TypeScript sources on every run.
  settings.enableAutoTranspile = false
  await execute({dir: import.meta.url})
}
