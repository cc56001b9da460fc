import {randomBytes} from 'node:crypto'
import {usageError} from '../errors.js'
import {base32} from '../matrix/device-id.js'
import {newAdminLoginKey, type Session} from '../registry/session.js'
import type {StoreKind} from '../store/store-kinds.js'
import {adminApiRefusal, adminTarget} from './admin-api.js'
import {authIssuer} from './auth-issuer.js'
import {createPersonalToken} from './create-personal-token.js'
import type {Deps} from './deps.js'
import {parseDuration} from './duration.js'
import {findSession, missingToken, readToken} from './find-session.js'
import {journalledLogin, madeNothing} from './journalled-login.js'
import {newSessionStore} from './new-session-store.js'
import {validateSessionName} from './session-name.js'

export interface AdminCreateOptions {
  name: string
  /** A full user ID, or a localpart on the admin's own server. */
  user: string
  /** The session of a server admin whose token makes the login. */
  as: string
  /** A duration ("30d"), or "never"; default DEFAULT_ADMIN_EXPIRY. */
  expires?: string
  store?: StoreKind
}

export const DEFAULT_ADMIN_EXPIRY = '30d'

/** An admin-made token's lifetime from --expires (default DEFAULT_ADMIN_EXPIRY); undefined for "never". */
export function adminLifetimeMs(expires: string = DEFAULT_ADMIN_EXPIRY): number | undefined {
  return expires === 'never' ? undefined : parseDuration(expires, '--expires', '; for a token without an end, give --expires never')
}

/**
 * Logs in as another user with a server admin's session, through Synapse's admin API: no password,
 * and a token on no device that dies at its expiry (unless "never" is spelt out) or when the admin
 * logs out everywhere. Behind a Matrix Authentication Service, a personal token made through its
 * admin API instead (create-personal-token.ts), with the same expiry. Journalled like any login, so that a run killed with the token in hand
 * leaves an entry `mxtok doctor --fix` can log out.
 */
export async function createAdminSession(opts: AdminCreateOptions, deps: Deps): Promise<Session> {
  const name = validateSessionName(opts.name)
  const lifetimeMs = adminLifetimeMs(opts.expires)
  const admin = await findSession(opts.as, deps)
  const user = adminTarget(admin, opts.user)
  if (user.full === admin.userId) throw usageError(`"${admin.name}" is ${user.full} itself; create a session of your own account with a password instead`)

  const store = newSessionStore(opts.store, deps)
  await store.check()
  const adminToken = await readToken(admin, deps)
  if (adminToken === null) throw missingToken(admin)
  // One probe tells the two apart: a homeserver behind a Matrix Authentication Service names it in
  // its auth metadata, and there tokens are made through MAS's admin API; Synapse alone answers 404.
  const issuer = await authIssuer(admin.homeserver, deps)
  if (issuer !== null) return createPersonalToken({name, user, admin, adminToken, issuer, lifetimeMs, store}, deps)
  const client = deps.client(admin.homeserver)
  const host = client.baseUrl.host
  const createdAt = deps.now()
  const expiresAt = lifetimeMs === undefined ? undefined : new Date(createdAt.getTime() + lifetimeMs)
  const validUntilMs = expiresAt?.getTime()
  // The token has no device: mxtok's key for it in the store is its own, made unique per login.
  const deviceId = newAdminLoginKey(base32(randomBytes(8)).slice(0, 12))

  return journalledLogin<string>(
    {
      name,
      homeserver: admin.homeserver,
      store,
      target: {who: user.full, deviceId},
      takes: {requests: 1},
      kind: {auth: 'admin', deviceId, admin: {by: admin.userId, session: admin.name, ...(expiresAt ? {expiresAt: expiresAt.toISOString()} : {})}},
      async obtain(run) {
        let token: string
        try {
          token = await run.request(() => client.adminLogin(adminToken, user.full, validUntilMs), madeNothing)
        } catch (error) {
          throw adminApiRefusal(error, admin, user, host, 'make admin logins')
        }
        run.hold(token)
        const session: Session = {
          name,
          userId: user.full,
          homeserver: admin.homeserver,
          deviceId,
          createdAt: createdAt.toISOString(),
          store: store.kind,
          auth: 'admin',
          admin: {by: admin.userId},
          ...(expiresAt ? {expiresAt: expiresAt.toISOString()} : {}),
        }
        return {session, secret: token}
      },
      end: (token) => client.logout(token),
      endFailed: (message) => `could not log out an admin login that mxtok could not keep (${message})`,
      stranded: () =>
        `an admin login as ${user.full} may have left a token nobody has${expiresAt ? `; it dies by itself at ${expiresAt.toISOString()}` : ''} ("mxtok doctor" lists it meanwhile)`,
    },
    deps,
  )
}
