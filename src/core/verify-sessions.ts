import {ExitCode, MxtokError} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'
import {masAdminFields, oauthGrant, type Session, tokenDevice, tokenOwner} from '../registry/session.js'
import {storeLabel} from '../store/store-kinds.js'
import type {Deps} from './deps.js'
import {findSession, prefetchTokens, RefreshRefused, readSecret, readToken} from './find-session.js'
import {mapLimit} from './map-limit.js'

export type VerifyStatus = 'valid' | 'expiring' | 'revoked' | 'expired' | 'mismatch' | 'unreachable' | 'error'

export interface VerifyResult {
  name: string
  status: VerifyStatus
  /** null for an admin client's session, whose token is no user's and on no device. */
  userId: string | null
  deviceId: string | null
  error?: string
  /**
   * When the token dies (ISO 8601): for a session whose expiry is recorded (an admin login's),
   * always; for a valid OAuth session's access token only when asked for (`expiry`).
   */
  expiresAt?: string
  /** The token reaches MAS's admin API: an admin user's ("user") or an admin client's ("client", with its ID). */
  masAdmin?: 'user' | 'client'
  clientId?: string
}

/** For showing progress: each callback fires as soon as its event happens. */
export interface VerifyWatch {
  /** The sessions about to be checked, once they are known. */
  onStart?(sessions: readonly Session[]): void
  /** A session's check begins (its token is read, then its server asked). */
  onCheck?(session: Session): void
  onResult?(result: VerifyResult, session: Session): void
  /** Read each valid OAuth session's expiry too (one more store read each). */
  expiry?: boolean
  /** A valid session whose recorded expiry falls within this many ms from now counts as `expiring` (exit 4). */
  expiringWithinMs?: number
}

export interface VerifyReport {
  results: VerifyResult[]
  exitCode: ExitCode
}

export const VERIFY_CONCURRENCY = 16

/**
 * Asks the server who each session's token belongs to (an admin client's token, which is nobody's,
 * is tried on MAS's admin API instead); one session's failure never stops the others.
 */
export async function verifySessions(names: string[], deps: Deps, watch: VerifyWatch = {}): Promise<VerifyReport> {
  const sessions = await chosen(names, deps)
  watch.onStart?.(sessions)
  deps.warmUp?.([...new Set(sessions.map((s) => s.homeserver))])
  await prefetchTokens(sessions, deps)
  const checked = await mapLimit(sessions, VERIFY_CONCURRENCY, async (s) => {
    watch.onCheck?.(s)
    const outcome = await verifyOne(s, deps)
    if (watch.expiry && outcome[0].status === 'valid' && oauthGrant(s)) {
      // A store that answered a moment ago; if it fails now, the expiry is simply not known.
      const expiresAt = await readSecret(s, deps).then(
        (secret) => secret?.expiresAt,
        () => null,
      )
      if (typeof expiresAt === 'number') outcome[0].expiresAt = new Date(expiresAt).toISOString()
    }
    if (watch.expiringWithinMs !== undefined && outcome[0].status === 'valid' && s.expiresAt !== undefined) {
      if (Date.parse(s.expiresAt) - deps.now().getTime() <= watch.expiringWithinMs) {
        outcome[0] = {...outcome[0], status: 'expiring', error: `the token expires at ${s.expiresAt}; create the session again before then`}
        outcome[1] = ExitCode.tokenInvalid
      }
    }
    watch.onResult?.(outcome[0], s)
    return outcome
  })
  // A dead token is the most actionable news, then the network, then the keychain.
  const order: ExitCode[] = [ExitCode.tokenInvalid, ExitCode.homeserver, ExitCode.keychain, ExitCode.unexpected]
  const codes = new Set(checked.map(([, code]) => code))
  // Any other failure (a refused plain http:// URL is a usage error) must not read as success.
  const other = [...codes].find((c) => c !== ExitCode.ok)
  return {results: checked.map(([result]) => result), exitCode: order.find((c) => codes.has(c)) ?? other ?? ExitCode.ok}
}

/**
 * The registry is read once whatever the number of names: a read per name made `verify` of 100
 * named sessions in a registry of 1,000 parse the whole file 100 times at once.
 */
async function chosen(names: string[], deps: Deps): Promise<Session[]> {
  const all = await deps.registry.list()
  if (names.length === 0) return all
  const byName = new Map(all.map((s) => [s.name, s]))
  // findSession only for a name that is not there: it throws the usual error.
  return Promise.all([...new Set(names)].map((n) => byName.get(n) ?? findSession(n, deps)))
}

async function verifyOne(session: Session, deps: Deps): Promise<[VerifyResult, ExitCode]> {
  const recorded = session.expiresAt === undefined ? undefined : Date.parse(session.expiresAt)
  const base = {
    name: session.name,
    ...tokenOwner(session),
    ...(recorded === undefined ? {} : {expiresAt: session.expiresAt}),
    ...masAdminFields(session),
  }
  const fail = (status: VerifyStatus, error: string, code: ExitCode): [VerifyResult, ExitCode] => [{...base, status, error}, code]
  const explain = (error: unknown): [VerifyResult, ExitCode] => {
    if (error instanceof RefreshRefused) return fail('revoked', error.message, error.exitCode)
    if (error instanceof MxtokError) return fail('error', error.message, error.exitCode)
    if (!(error instanceof MatrixError)) throw error
    if (refused(session, error)) return fail('revoked', 'the server no longer knows this token', ExitCode.tokenInvalid)
    if (error.isLocal) return fail('unreachable', error.message, ExitCode.homeserver)
    return fail('error', error.message, ExitCode.homeserver)
  }
  // The server forgets an expired token soon enough; the recorded expiry says so without asking.
  if (recorded !== undefined && recorded <= deps.now().getTime())
    return fail('expired', `the token expired at ${session.expiresAt}; create the session again`, ExitCode.tokenInvalid)
  // An admin login's token is on no device: its deviceId is only mxtok's key in the store.
  const device = tokenDevice(session)
  const check = async (token: string): Promise<[VerifyResult, ExitCode]> => {
    if (session.auth === 'client') {
      await deps.masAdmin(session.oauth.issuer, token).siteConfig()
      return [{...base, status: 'valid'}, ExitCode.ok]
    }
    const who = await deps.client(session.homeserver).whoami(token)
    if (who.userId === session.userId && who.deviceId === device) return [{...base, status: 'valid'}, ExitCode.ok]
    return fail('mismatch', `the token belongs to ${who.userId}, device ${who.deviceId ?? '(none)'}`, ExitCode.tokenInvalid)
  }
  let token: string | null
  try {
    token = await readToken(session, deps)
  } catch (error) {
    return explain(error)
  }
  if (token === null) return fail('error', `the ${storeLabel(session.store)} holds no token for this session`, ExitCode.tokenInvalid)
  try {
    return await check(token)
  } catch (error) {
    // An OAuth session gets one refresh before it counts as revoked: Synapse behind MAS answers an
    // expired access token with M_UNKNOWN_TOKEN and soft_logout false, so soft_logout cannot be relied on.
    if (!(error instanceof MatrixError && refused(session, error) && oauthGrant(session))) return explain(error)
  }
  try {
    const fresh = await readToken(session, deps, token)
    return fresh === null ? fail('error', `the ${storeLabel(session.store)} holds no token for this session`, ExitCode.tokenInvalid) : await check(fresh)
  } catch (error) {
    return explain(error)
  }
}

/** The server refused the token: Matrix's M_UNKNOWN_TOKEN, or for an admin client's, MAS's admin API answering 401. */
const refused = (session: Session, error: MatrixError) => error.errcode === 'M_UNKNOWN_TOKEN' || (session.auth === 'client' && error.status === 401)
