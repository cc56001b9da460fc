#!/usr/bin/env node
import {execute, settings} from '@oclif/core'

// Without this, NODE_ENV=development/test makes oclif look for TypeScript sources on every run.
settings.enableAutoTranspile = false

await execute({dir: import.meta.url})
