import {MxtokError, usageError} from '../errors.js'
import {withContext} from '../matrix/errors.js'
import {parseUserId} from '../matrix/user-id.js'
import type {AdminClientSession, AdminSession, OAuthSession, PasswordSession, Session} from '../registry/session.js'
import {createAdminSession} from './create-admin-session.js'
import {createPasswordSession} from './create-password-session.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readSecret, readToken} from './find-session.js'
import {regeneratePersonalToken} from './regenerate-personal-token.js'
import {endTokens} from './revoke-session.js'

export interface RotateOptions {
  name: string
  /**
   * A password session: whether replacing its device, and the end-to-end encryption keys on it, is
   * agreed to. Asked before the password and before any request.
   */
  confirmDeviceReset: (session: PasswordSession) => Promise<boolean>
  /** A password session's password, asked for once the reset is agreed to. */
  password: (userId: string) => Promise<string>
  /**
   * An admin login: the admin's session that makes it again (default: the one local session of the
   * admin who made it); a personal token: the admin session that regenerates it (default: the one that made it).
   */
  as?: string
  /** An admin login or a personal token: the new token's lifetime, as create --expires (default as create). */
  expires?: string
}

export interface RotateResult {
  session: Session
  rotatedAt: string
  /** The device, and what is on it (end-to-end keys), is the one the old token was on. */
  deviceKept: boolean
}

/**
 * Gives the session a fresh token and ends the old one, each kind the way its server allows: an
 * OAuth session is refreshed (the device stays; the authorization server ends the old access token);
 * a password session is logged in to again on its own device, whose reset deletes the device with
 * its end-to-end keys, so only once that is agreed to; an admin login is made again with its
 * admin's session and the old one logged out; a personal token of MAS is regenerated (its device stays). Every new token comes through a journalled login or
 * the locked refresh, so a run killed half-way strands nothing that `mxtok doctor` does not find.
 */
export async function rotateSession(opts: RotateOptions, deps: Deps): Promise<RotateResult> {
  const session = await findSession(opts.name, deps)
  const rotatedAt = deps.now().toISOString()
  switch (session.auth) {
    case 'oauth':
      return {session: await refreshNow(session, deps), rotatedAt, deviceKept: true}
    case 'password':
      return {session: await loginAgain(session, opts, deps), rotatedAt, deviceKept: false}
    case 'admin':
      return {session: await adminLoginAgain(session, opts, deps), rotatedAt, deviceKept: false}
    case 'client':
      return {session: await clientTokenAgain(session, deps), rotatedAt, deviceKept: false}
    case 'personal':
      return {session: await regeneratePersonalToken(session, opts, deps), rotatedAt, deviceKept: true}
    default: {
      const kind = (session as {auth: string}).auth
      throw usageError(`session "${opts.name}" is of a kind mxtok cannot rotate (${kind}); create it again instead`)
    }
  }
}

/** A refresh though none is due: readToken refreshes a token it is told the server refused, under the registry lock. */
async function refreshNow(session: OAuthSession, deps: Deps): Promise<Session> {
  const secret = await readSecret(session, deps)
  if (secret === null) throw missingToken(session)
  if (secret.refreshToken === null)
    throw new MxtokError('tokenInvalid', `session "${session.name}" has no refresh token, so it cannot be rotated; create it again`)
  await readToken(session, deps, secret.accessToken)
  return session
}

/**
 * A new token of the client credentials grant, through the locked renewal, and the old one revoked
 * here too, so that a revocation that failed (the renewal only warns of it) fails the rotation.
 */
async function clientTokenAgain(session: AdminClientSession, deps: Deps): Promise<Session> {
  const old = await readSecret(session, deps)
  if (old === null) throw missingToken(session)
  await readToken(session, deps, old.accessToken)
  try {
    await endTokens(session.homeserver, session.oauth, {...old, refreshToken: null}, deps)
  } catch (error) {
    throw withContext(error, `; the new token of session "${session.name}" is kept, the old one may live until it expires (minutes)`)
  }
  return session
}

/** Create's own login on the session's device: the reset that ends the old token, then the login that keeps the new one. */
async function loginAgain(session: PasswordSession, opts: RotateOptions, deps: Deps): Promise<Session> {
  if (!(await opts.confirmDeviceReset(session))) throw usageError(`cancelled: session "${session.name}" was not changed`)
  const homeserver = new URL(session.homeserver)
  // Asked while the password is (see create-session.ts).
  const serverSoftware = deps.client(homeserver).serverSoftware()
  const password = await opts.password(session.userId)
  return createPasswordSession(
    {
      name: session.name,
      user: parseUserId(session.userId),
      homeserver,
      store: deps.store(session.store),
      password,
      deviceId: session.deviceId,
      serverSoftware: await serverSoftware,
    },
    deps,
  )
}

/** A new admin login under the same name; the journalled login logs the replaced token out, as create does for a session on another device. */
async function adminLoginAgain(session: AdminSession, opts: RotateOptions, deps: Deps): Promise<Session> {
  const as = opts.as ?? (await adminSessionOf(session, deps))
  return createAdminSession({name: session.name, user: session.userId, as, expires: opts.expires, store: session.store}, deps)
}

async function adminSessionOf(session: AdminSession, deps: Deps): Promise<string> {
  const by = session.admin.by
  const candidates = (await deps.registry.list()).filter((s) => s.userId === by && s.homeserver === session.homeserver && s.auth !== 'admin')
  if (candidates.length === 1) return candidates[0].name
  const which = candidates.length === 0 ? `no local session of ${by}` : `${candidates.length} local sessions of ${by}`
  throw usageError(`session "${session.name}" was made by ${by}, and there is ${which}; pass --as with the session of a server admin`)
}
