import type {Deps} from '../core/deps.js'
import {type Io, printJson, processIo} from './io.js'
import type {InFlight} from './live/in-flight.js'
import type {Outcome} from './outcome.js'
import {reportError} from './report-error.js'

/** How a command runs: --json or not, its dependencies (made when first asked for), what ends the run. */
export interface RunContext {
  json: boolean
  deps: () => Deps
  /** The requests of those dependencies under way, for a live status line. */
  inFlight?: InFlight
  /** Closes what the run left open (the HTTP pool), so the process can end. */
  finish?: () => Promise<void>
}

/**
 * Runs an action and finishes the command: prints its result under --json, or any failure as one
 * line, and sets the exit code. Both ways of starting a command (runner.ts and the oclif command
 * classes) end here, so they behave alike.
 */
export async function runAction(start: (io: Io) => Promise<Outcome>, context: RunContext): Promise<void> {
  const {json} = context
  try {
    const {result, exitCode} = await start(processIo(context))
    if (json) printJson(result)
    process.exitCode = exitCode
  } catch (error) {
    process.exitCode = reportError(error, json)
  } finally {
    await context.finish?.()
  }
}
