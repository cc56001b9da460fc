import {ExitCode} from '../errors.js'
import {writeLines} from '../output/terminal.js'
import {describeError} from './describe-error.js'
import {printJson} from './io.js'

/** Any failure as one line (or a JSON error object); returns its documented exit code for the caller to exit with. */
export function reportError(error: unknown, json: boolean): number {
  const {kind, message} = describeError(error)
  if (json) printJson({error: {kind, exitCode: ExitCode[kind], message}})
  else writeLines(process.stderr, [`mxtok: ${message}`])
  if (kind === 'unexpected' && process.env.MXTOK_DEBUG) writeLines(process.stderr, String((error as Error)?.stack).split('\n'))
  return ExitCode[kind]
}
