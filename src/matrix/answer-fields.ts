import {LocalErrcode, MatrixError} from './errors.js'

/**
 * Whose rules an answer broke, for the end of the message: the homeserver's Client-Server API,
 * or the OAuth 2.0 endpoints of next-generation auth.
 */
export type AnswerSpec = 'matrix' | 'oauth'

const VERDICT: Record<AnswerSpec, string> = {
  matrix: 'it does not look like a Matrix homeserver',
  oauth: 'it does not follow the Matrix and OAuth 2.0 specifications',
}

export const malformed = (where: URL, name: string, spec: AnswerSpec = 'matrix') =>
  new MatrixError({status: 200, errcode: LocalErrcode.badResponse, message: `${where.host} answered without a valid "${name}" field; ${VERDICT[spec]}`})

/** A field that must be there, of any type. */
export function field(body: unknown, name: string, where: URL, spec: AnswerSpec = 'matrix'): unknown {
  const value = (body as Record<string, unknown>)[name]
  if (value === undefined || value === null) throw malformed(where, name, spec)
  return value
}

export function stringField(body: unknown, name: string, where: URL, spec: AnswerSpec = 'matrix'): string {
  const value = field(body, name, where, spec)
  if (typeof value !== 'string' || value === '') throw malformed(where, name, spec)
  return value
}

export function positiveNumber(body: unknown, name: string, where: URL, spec: AnswerSpec = 'matrix'): number {
  const value = field(body, name, where, spec)
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw malformed(where, name, spec)
  return value
}

/**
 * The longest token lifetime mxtok takes from a server: 10 years, as on the command line
 * (core/duration.ts). Far inside what a Date holds, so that "now" plus it is always a date.
 */
export const MAX_LIFETIME_MS = 3653 * 86_400_000

/** A token's lifetime as an answer gives it: absent, or whole milliseconds; `problem` when the field was there but no lifetime. */
export interface Lifetime {
  ms: number | null
  problem?: MatrixError
}

/**
 * A token's lifetime in `unitMs` (1000 for OAuth's seconds, 1 for Matrix's milliseconds): absent or
 * null means the token has no known end; a number up to MAX_LIFETIME_MS is rounded up to whole
 * milliseconds; anything else is the server's mistake. That mistake is returned, not thrown: the
 * answer carries a live token, which the caller must hold before failing, so that it is ended.
 */
export function lifetime(body: unknown, name: string, unitMs: number, where: URL, spec: AnswerSpec = 'matrix'): Lifetime {
  const value = (body as Record<string, unknown>)[name]
  if (value === undefined || value === null) return {ms: null}
  const ms = typeof value === 'number' ? Math.ceil(value * unitMs) : Number.NaN
  if (!(ms > 0 && ms <= MAX_LIFETIME_MS)) {
    const message = `${where.host} answered a token lifetime ("${name}") that is not between 1 ms and 10 years; ${VERDICT[spec]}`
    return {ms: null, problem: new MatrixError({status: 200, errcode: LocalErrcode.badResponse, message})}
  }
  return {ms}
}

/** A field a session is built from must have its grammar: it is stored, and shown. */
export function checked(value: string, valid: (text: string) => boolean, where: URL, name: string): string {
  if (!valid(value)) throw malformed(where, name)
  return value
}
