import {type ErrorKind, MxtokError} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'

/** Turns any failure into the one line a person reads and the kind that picks the exit code. */
export function describeError(error: unknown): {kind: ErrorKind; message: string} {
  if (error instanceof MxtokError) return {kind: error.kind, message: error.message}
  if (error instanceof MatrixError) {
    if (error.errcode === 'M_UNKNOWN_TOKEN') return {kind: 'tokenInvalid', message: `${error.message}: the token is no longer valid; create the session again`}
    // requestJson has already waited out what it could: what is left outlasted its budget.
    if (error.errcode === 'M_LIMIT_EXCEEDED') return {kind: 'rateLimited', message: error.message}
    return {kind: 'homeserver', message: error.message}
  }
  // oclif's parse errors carry exit 2; their text spans lines and ends with a pointer to --help.
  if ((error as {oclif?: {exit?: number}})?.oclif?.exit === 2) {
    const text = (error as Error).message
      .replace(/\s*\n\s*/g, ' ')
      .replace(/^The following error occurred: /, '')
      .replace(/ See more help with --help$/, '')
    return {kind: 'usage', message: `${text} (see --help)`}
  }
  return {kind: 'unexpected', message: `unexpected error: ${(error as Error)?.message ?? String(error)}; set MXTOK_DEBUG=1 for details and report it`}
}
