import {ExitCode} from '../errors.js'

/**
 * What an action hands back to the one function that runs it (run-action.ts): the value --json
 * prints, and the exit code, which the action decides and the runner alone gives the process.
 */
export interface Outcome<R = unknown> {
  result: R
  exitCode: number
}

export const done = <R>(result: R): Outcome<R> => ({result, exitCode: ExitCode.ok})
