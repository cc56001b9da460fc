import {MxtokError} from '../errors.js'

/**
 * The one error the homeserver client throws. Server answers keep the Matrix `errcode`;
 * failures that never got a Matrix answer use codes in mxtok's own namespace, so callers
 * branch on `errcode` alone.
 */
export const LocalErrcode = {
  /** No TCP/TLS connection, or the connection broke. */
  unreachable: 'mxtok.unreachable',
  /** A connect, header or body timeout fired. */
  timeout: 'mxtok.timeout',
  /** The answer was not what the spec says (HTML, not JSON, missing fields, too large). */
  badResponse: 'mxtok.bad_response',
  /** A redirect that would carry the token to another origin. */
  crossOriginRedirect: 'mxtok.cross_origin_redirect',
} as const

/**
 * The errcode of an error document of a JSON:API (MAS's admin API), which has none of its own:
 * callers branch on the HTTP status, and the message carries the document's titles.
 */
export const JSON_API_ERROR = 'json_api_error'

export class MatrixError extends Error {
  /** HTTP status, or 0 when no answer was received. */
  readonly status: number
  readonly errcode: string
  readonly retryAfterMs: number | undefined
  /** The JSON object of the answer, when there was one: User-Interactive Auth reads its flows and session. */
  readonly body: Record<string, unknown> | undefined
  /** True when the request certainly never reached the server (no connection was made). */
  readonly notSent: boolean

  constructor(init: {
    status: number
    errcode: string
    message: string
    retryAfterMs?: number
    body?: Record<string, unknown>
    notSent?: boolean
    cause?: unknown
  }) {
    super(init.message, {cause: init.cause})
    this.name = 'MatrixError'
    this.status = init.status
    this.errcode = init.errcode
    this.retryAfterMs = init.retryAfterMs
    this.body = init.body
    this.notSent = init.notSent ?? false
  }

  /**
   * The same failure, saying what was being done: `context` follows the message (with its own
   * separator), and the original stays as `cause`, its status, errcode and the rest kept for
   * callers that branch on them.
   */
  withContext(context: string): MatrixError {
    const {status, errcode, retryAfterMs, body, notSent} = this
    return new MatrixError({status, errcode, retryAfterMs, body, notSent, message: `${this.message}${context}`, cause: this})
  }

  /** True when no Matrix answer came back at all. */
  get isLocal(): boolean {
    return this.errcode.startsWith('mxtok.')
  }
}

/** Either error of mxtok's own with `context` added (see withContext); any other error as it is. */
export const withContext = (error: unknown, context: string): unknown =>
  error instanceof MxtokError || error instanceof MatrixError ? error.withContext(context) : error
