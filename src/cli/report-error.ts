import {ExitCode} from '../errors.js'
import {writeLines} from '../output/terminal.js'
import {describeError} from './describe-error.js'
import {printJson} from './io.js'

/** Any failure as one line (or a JSON error object) and its documented exit code. */
export function reportError(error: unknown, json: boolean): void {
  const {kind, message} = describeError(error)
  process.exitCode = ExitCode[kind]
  if (json) printJson({error: {kind, exitCode: ExitCode[kind], message}})
  else writeLines(process.stderr, [`mxtok: ${message}`])
  if (kind === 'unexpected' && process.env.MXTOK_DEBUG) writeLines(process.stderr, String((error as Error)?.stack).split('\n'))
}
