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

/** A field a session is built from must have its grammar: it is stored, and shown. */
export function checked(value: string, valid: (text: string) => boolean, where: URL, name: string): string {
  if (!valid(value)) throw malformed(where, name)
  return value
}
