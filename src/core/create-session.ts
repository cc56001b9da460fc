import {MxtokError, usageError} from '../errors.js'
import {deriveDeviceId} from '../matrix/device-id.js'
import {LocalErrcode, MatrixError} from '../matrix/errors.js'
import {homeserverKey, parseHomeserverUrl} from '../matrix/homeserver-url.js'
import {parseAnsweredUserId, resolveUserId, type UserId} from '../matrix/user-id.js'
import type {PendingLogin, Session} from '../registry/registry.js'
import {secretAccount, type StoreKind} from '../store/secret-store.js'
import {createAgainCommand} from './create-advice.js'
import {createOAuthSession, type DeviceCodePrompt, oauthMetadata} from './create-oauth-session.js'
import type {Deps} from './deps.js'
import {loginOrExplain} from './login.js'
import {retireReplaced} from './revoke-session.js'
import {validateSessionName} from './session-name.js'

export interface CreateOptions {
  name: string
  user: string
  homeserver?: string
  deviceName?: string
  deviceId?: string
  /** Asked for only once everything that can be checked locally is fine. */
  password: () => Promise<string>
  allowHttp?: boolean
  store?: StoreKind
  /** Log in through next-generation auth (OAuth 2.0) even when the server offers password logins. */
  oauth?: boolean
  /** Shows where to approve an OAuth login; the password is not asked for then. */
  showCode?: (prompt: DeviceCodePrompt) => void | Promise<void>
  /** Waits between polls of an OAuth login. */
  sleep?: (ms: number) => Promise<void>
}

const DEVICE_ID = /^[A-Za-z0-9._~-]{1,255}$/

/**
 * Logs in with the session's device ID and keeps the token: through OAuth 2.0 when the server offers
 * no password login, or with --oauth (create-oauth-session.ts); else with the password. When a
 * password login returns, the new token is the only live token on that device: Synapse keeps old tokens of a reused device alive
 * (element-hq/synapse#6616), so the first login's token logs the device out — which deletes the
 * device with every token on it, whoever holds them — and a second login creates it afresh.
 */
export async function createSession(opts: CreateOptions, deps: Deps): Promise<Session> {
  const name = validateSessionName(opts.name)
  if (opts.deviceId !== undefined && !DEVICE_ID.test(opts.deviceId)) {
    throw usageError(`--device-id "${opts.deviceId}" is not valid: use 1-255 letters, digits, ".", "_", "~" or "-"`)
  }
  const homeserverUrl = opts.homeserver === undefined ? undefined : parseHomeserverUrl(opts.homeserver, {allowHttp: opts.allowHttp})
  // A bare localpart gets the homeserver's host as its server name; the login answer corrects it
  // for servers whose name differs from their host.
  let user = resolveUserId(opts.user, homeserverUrl?.host)
  const homeserver = homeserverUrl ?? (await deps.discover(user))
  const store = deps.store(opts.store ?? 'keychain')
  // The store check fails before anything exists on the server when the token could not be kept;
  // asking the server how it logs in meanwhile changes nothing there. Both are awaited, so the
  // check's probe item is gone before any error is reported.
  const [checked, asked] = await Promise.allSettled([store.check(), oauthMetadata(homeserver, {forced: opts.oauth, allowHttp: opts.allowHttp}, deps)])
  if (checked.status === 'rejected') throw checked.reason
  if (asked.status === 'rejected') throw asked.reason
  const metadata = asked.value
  if (metadata) {
    return createOAuthSession({name, user, homeserver, store, metadata, deviceId: opts.deviceId, deviceName: opts.deviceName, showCode: opts.showCode, sleep: opts.sleep}, deps)
  }
  const password = await opts.password()

  const client = deps.client(homeserver)
  const displayName = opts.deviceName ?? `mxtok: ${name}`
  const deviceFor = (u: UserId) => opts.deviceId ?? deriveDeviceId(u.full, name)
  const accountFor = (u: UserId) => secretAccount(u.full, deviceFor(u))

  // What could outlive this run on the server if it stopped now: a device whose login is under
  // way (its token may exist even though the answer never came back), or a token only held here.
  let loginInFlight = false
  let liveToken: string | undefined
  const login = async (u: UserId) => {
    const deviceId = deviceFor(u)
    loginInFlight = true
    const result = await loginOrExplain(client, {user: u.full, password, deviceId, displayName}).catch((error) => {
      if (error instanceof MxtokError || (error instanceof MatrixError && (!error.isLocal || error.notSent))) loginInFlight = false
      throw error
    })
    loginInFlight = false
    liveToken = result.accessToken
    if (result.deviceId !== deviceId) {
      // If this logout fails, the token stays live and the clean-up below tries once more.
      await logout(result.accessToken).catch(() => {})
      throw wrongAnswer(homeserver, `logged in to device ${result.deviceId} instead of the requested ${deviceId}; the server ignores requested device IDs, so mxtok cannot manage this session (the new token was logged out)`)
    }
    return result
  }
  const logout = async (token: string) => {
    await client.logout(token)
    if (liveToken === token) liveToken = undefined
  }
  const pendingFor = (u: UserId): PendingLogin => ({name, userId: u.full, deviceId: deviceFor(u), homeserver: homeserverKey(homeserver), store: store.kind, since: deps.now().toISOString()})
  const journal = (u: UserId, add: boolean) =>
    deps.registry.update((_, pending) => {
      if (add) pending.set(accountFor(u), pendingFor(u))
      else pending.delete(accountFor(u))
    })
  const assertDeviceFree = async (u: UserId) => {
    const deviceId = deviceFor(u)
    const clash = (await deps.registry.list()).find((s) => s.name !== name && s.userId === u.full && s.deviceId === deviceId)
    if (clash) throw usageError(`device ${deviceId} already belongs to session "${clash.name}"; revoke that session first or choose another --device-id`)
  }

  await assertDeviceFree(user)
  await journal(user, true)
  let previous: Session | undefined
  let session: Session
  try {
    let first = await login(user)
    if (first.userId !== user.full) {
      const actual = parseAnsweredUserId(first.userId, homeserver, 'the login')
      if (opts.user.startsWith('@')) {
        await logout(first.accessToken).catch(() => {})
        throw wrongAnswer(homeserver, `logged in as ${actual.full} instead of ${user.full} (the new token was logged out)`)
      }
      // The server's name is not its host: the device was named after the wrong ID, so it goes again.
      await logout(first.accessToken)
      await journal(user, false)
      user = actual
      await assertDeviceFree(user)
      await journal(user, true)
      first = await login(user)
    }
    const deviceId = deviceFor(user)
    try {
      await logout(first.accessToken)
    } catch (error) {
      if (!(error instanceof MatrixError)) throw error
      throw new MatrixError({status: error.status, errcode: error.errcode, message: `${error.message} (while resetting device ${deviceId}: run create again to finish)`, cause: error})
    }
    const fresh = await login(user)
    const account = accountFor(user)
    session = {name, userId: user.full, homeserver: homeserverKey(homeserver), deviceId, createdAt: deps.now().toISOString(), store: store.kind}
    // Under the registry lock, so that concurrent runs write the store and the registry in turn.
    previous = await deps.registry.update(async (sessions, pending) => {
      await store.set(account, fresh.accessToken)
      const old = sessions.get(name)
      sessions.set(name, session)
      pending.delete(account)
      return old
    })
    liveToken = undefined
  } catch (error) {
    // A token that this run cannot keep is logged out; only then is nothing left to report.
    if (liveToken) await logout(liveToken).catch((e) => deps.warn(`could not log out a token that mxtok could not keep (${(e as Error).message})`))
    if (!liveToken && !loginInFlight) await journal(user, false).catch(() => {})
    else deps.warn(`device ${deviceFor(user)} of ${user.full} may hold a token nobody has; run "${createAgainCommand({...pendingFor(user), name})}" again to reset it ("mxtok doctor" lists it meanwhile)`)
    throw error
  }

  // Replaced by a session on another device: that old token would otherwise live on, held by nobody.
  if (previous && secretAccount(previous.userId, previous.deviceId) !== accountFor(user)) {
    await retireReplaced(previous, deps)
  }
  return session
}

const wrongAnswer = (homeserver: URL, what: string) =>
  new MatrixError({status: 200, errcode: LocalErrcode.badResponse, message: `${homeserver.host} ${what}`})
