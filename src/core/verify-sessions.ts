import {ExitCode, MxtokError} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'
import type {Session} from '../registry/registry.js'
import type {Deps} from './deps.js'
import {storeLabel} from '../store/secret-store.js'
import {findSession, readToken} from './find-session.js'
import {mapLimit} from './map-limit.js'

export type VerifyStatus = 'valid' | 'revoked' | 'mismatch' | 'unreachable' | 'error'

export interface VerifyResult {
  name: string
  status: VerifyStatus
  userId: string
  deviceId: string
  error?: string
}

export interface VerifyReport {
  results: VerifyResult[]
  exitCode: ExitCode
}

export const VERIFY_CONCURRENCY = 16

/** Asks the server who each session's token belongs to; one session's failure never stops the others. */
export async function verifySessions(names: string[], deps: Deps): Promise<VerifyReport> {
  const sessions = names.length > 0 ? await Promise.all([...new Set(names)].map((n) => findSession(n, deps))) : await deps.registry.list()
  const checked = await mapLimit(sessions, VERIFY_CONCURRENCY, (s) => verifyOne(s, deps))
  // A dead token is the most actionable news, then the network, then the keychain.
  const order: ExitCode[] = [ExitCode.tokenInvalid, ExitCode.homeserver, ExitCode.keychain, ExitCode.unexpected]
  const codes = new Set(checked.map(([, code]) => code))
  return {results: checked.map(([result]) => result), exitCode: order.find((c) => codes.has(c)) ?? ExitCode.ok}
}

async function verifyOne(session: Session, deps: Deps): Promise<[VerifyResult, ExitCode]> {
  const base = {name: session.name, userId: session.userId, deviceId: session.deviceId}
  const fail = (status: VerifyStatus, error: string, code: ExitCode): [VerifyResult, ExitCode] => [{...base, status, error}, code]
  let token: string | null
  try {
    token = await readToken(session, deps)
  } catch (error) {
    if (error instanceof MxtokError) return fail('error', error.message, error.exitCode)
    throw error
  }
  if (token === null) return fail('error', `the ${storeLabel(session.store)} holds no token for this session`, ExitCode.tokenInvalid)
  try {
    const who = await deps.client(session.homeserver).whoami(token)
    if (who.userId === session.userId && who.deviceId === session.deviceId) return [{...base, status: 'valid'}, ExitCode.ok]
    return fail('mismatch', `the token belongs to ${who.userId}, device ${who.deviceId ?? '(none)'}`, ExitCode.tokenInvalid)
  } catch (error) {
    if (!(error instanceof MatrixError)) throw error
    if (error.errcode === 'M_UNKNOWN_TOKEN') return fail('revoked', 'the server no longer knows this token', ExitCode.tokenInvalid)
    if (error.isLocal) return fail('unreachable', error.message, ExitCode.homeserver)
    return fail('error', error.message, ExitCode.homeserver)
  }
}
