import type {Deps} from '../core/deps.js'
import {closeHttp} from '../matrix/http.js'
import {commandDeps} from './default-deps.js'
import {type Io, printJson, processIo} from './io.js'
import type {Outcome} from './outcome.js'
import {reportError} from './report-error.js'

/** The flags every command may have, as parsed by the runner or by oclif. */
export interface RunFlags {
  json?: unknown
  verbose?: unknown
  'allow-http'?: unknown
}

/**
 * Runs an action and finishes the command: prints its result under --json, or any failure as one
 * line, and sets the exit code. Both ways of starting a command (runner.ts and the oclif command
 * classes) end here, so they behave alike. `deps` replaces the real ones (list --offline).
 */
export async function runAction(start: (io: Io) => Promise<Outcome>, flags: RunFlags, deps?: () => Deps): Promise<void> {
  const json = flags.json === true
  const io = processIo({json, deps: deps ?? (() => commandDeps(flags.verbose === true, flags['allow-http'] === true))})
  try {
    const {result, exitCode} = await start(io)
    if (json) printJson(result)
    process.exitCode = exitCode
  } catch (error) {
    process.exitCode = reportError(error, json)
  } finally {
    await closeHttp()
  }
}
