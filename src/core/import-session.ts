import {MxtokError, usageError} from '../errors.js'
import {isAccessToken} from '../matrix/access-token.js'
import {MatrixError} from '../matrix/errors.js'
import {homeserverKey, parseHomeserverUrl} from '../matrix/homeserver-url.js'
import {parseAnsweredUserId, resolveUserId} from '../matrix/user-id.js'
import type {Session} from '../registry/session.js'
import type {StoreKind} from '../store/store-kinds.js'
import type {Deps} from './deps.js'
import {assertDeviceFree, recordSession, retireReplacedSession} from './journalled-login.js'
import {newSessionStore} from './new-session-store.js'
import {validateSessionName} from './session-name.js'

export interface ImportOptions {
  name: string
  /** Read only once everything that can be checked before it is fine. */
  token: () => Promise<string>
  homeserver?: string
  /** Discovers the homeserver when --homeserver is not given, and must own the token. */
  user?: string
  store?: StoreKind
}

/**
 * Adopts a token obtained elsewhere (Element's Help & About panel, a curl login) as a session:
 * the server says whose token it is and which device it belongs to, and from then on it is kept,
 * listed, verified and revoked like a created one.
 */
export async function importSession(opts: ImportOptions, deps: Deps): Promise<Session> {
  const name = validateSessionName(opts.name)
  if (opts.homeserver === undefined && opts.user === undefined) {
    throw usageError('say where the token is valid: --homeserver https://matrix.example.com, or --user @you:example.com to discover the homeserver')
  }
  const homeserverUrl = opts.homeserver === undefined ? undefined : parseHomeserverUrl(opts.homeserver)
  if (homeserverUrl) deps.client(homeserverUrl).assertSendable()
  const expected = opts.user === undefined ? undefined : resolveUserId(opts.user, homeserverUrl?.host)
  const homeserver = homeserverUrl ?? (await deps.discover(expected!))
  const store = newSessionStore(opts.store, deps)
  await store.check()
  const token = await opts.token()
  if (!isAccessToken(token))
    throw usageError('that is not an access token: it holds spaces, control characters or letters outside ASCII; copy the token again; nothing was imported')

  const client = deps.client(homeserver)
  let who
  try {
    who = await client.whoami(token)
  } catch (error) {
    if (error instanceof MatrixError && error.errcode === 'M_UNKNOWN_TOKEN') {
      throw new MxtokError(
        'tokenInvalid',
        `${homeserver.host} does not accept this token: it was logged out, or is mistyped or for another server; nothing was imported`,
        {cause: error},
      )
    }
    throw error
  }
  const user = parseAnsweredUserId(who.userId, homeserver, 'whoami')
  // A localpart was completed with the homeserver's host, which need not be the server name.
  if (expected && (opts.user!.startsWith('@') ? user.full !== expected.full : user.localpart !== expected.localpart)) {
    throw new MxtokError('tokenInvalid', `the token belongs to ${user.full}, not ${opts.user}; nothing was imported`)
  }
  if (who.deviceId === null) {
    throw new MxtokError(
      'tokenInvalid',
      `the token of ${user.full} has no device (an admin "login as" token?), and mxtok manages tokens by device; use "mxtok create" instead`,
    )
  }
  const deviceId = who.deviceId
  const session: Session = {
    name,
    userId: user.full,
    homeserver: homeserverKey(homeserver),
    deviceId,
    createdAt: deps.now().toISOString(),
    store: store.kind,
    // Used like a password login's token: a token on a device, ended with /logout.
    auth: 'password',
  }
  // No journal: the token exists already, and its owner still has it if this run stops.
  // The device is checked under the lock, so that concurrent imports of one token cannot both win.
  const check = (sessions: Map<string, Session>) =>
    assertDeviceFree(sessions.values(), name, session.homeserver, {who: user.full, deviceId}, 'use that session, or revoke it first')
  const {old} = await recordSession(store, {session, secret: token}, {check}, deps)
  // The same device in another store: its token there is likely this very token, so it is only forgotten.
  await retireReplacedSession(old, null, session, undefined, deps)
  return session
}
