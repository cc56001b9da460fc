import {MxtokError, usageError} from '../errors.js'
import {deriveDeviceId} from '../matrix/device-id.js'
import {LocalErrcode, MatrixError} from '../matrix/errors.js'
import {homeserverKey, parseHomeserverUrl} from '../matrix/homeserver-url.js'
import {parseAnsweredUserId, parseLocalpart, parseUserId, type UserId} from '../matrix/user-id.js'
import type {PendingLogin, Session} from '../registry/registry.js'
import {secretAccount, type StoreKind} from '../store/secret-store.js'
import {createAgainCommand} from './create-advice.js'
import {createOAuthSession, type DeviceCodePrompt, oauthMetadata} from './create-oauth-session.js'
import type {Deps} from './deps.js'
import {loginOrExplain} from './login.js'
import {probeDeviceId} from './probe-device.js'
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
 * password login returns, the new token is the only live token on that device: Synapse keeps old
 * tokens of a reused device alive (element-hq/synapse#6616), so the first login's token logs the
 * device out — which deletes the device with every token on it, whoever holds them — and a second
 * login creates it afresh. Given a bare localpart, a login on a probe device first learns the full
 * user ID the device ID is derived from. Every device a login may create is journalled before it.
 */
export async function createSession(opts: CreateOptions, deps: Deps): Promise<Session> {
  const name = validateSessionName(opts.name)
  if (opts.deviceId !== undefined && !DEVICE_ID.test(opts.deviceId)) {
    throw usageError(`--device-id "${opts.deviceId}" is not valid: use 1-255 letters, digits, ".", "_", "~" or "-"`)
  }
  const homeserverUrl = opts.homeserver === undefined ? undefined : parseHomeserverUrl(opts.homeserver, {allowHttp: opts.allowHttp})
  // A bare localpart is sent as it is: the server name that completes it need not be the host of
  // the homeserver's URL (Synapse answers a login for a wrongly completed ID like a wrong password).
  const given = opts.user.startsWith('@') ? parseUserId(opts.user) : undefined
  const localpart = given?.localpart ?? parseLocalpart(opts.user)
  if (!given && !homeserverUrl) throw usageError(`--user "${opts.user}" is not a full Matrix ID; write @${opts.user}:your.server or pass --homeserver`)
  const homeserver = homeserverUrl ?? (await deps.discover(given!))
  const store = deps.store(opts.store ?? 'keychain')
  // The store check fails before anything exists on the server when the token could not be kept;
  // asking the server how it logs in meanwhile changes nothing there. Both are awaited, so the
  // check's probe item is gone before any error is reported.
  const [checked, asked] = await Promise.allSettled([store.check(), oauthMetadata(homeserver, {forced: opts.oauth, allowHttp: opts.allowHttp}, deps)])
  if (checked.status === 'rejected') throw checked.reason
  if (asked.status === 'rejected') throw asked.reason
  const metadata = asked.value
  if (metadata) {
    if (!given) throw usageError(`a sign-in through the browser needs the full user ID, since its device ID is asked for before the sign-in: write --user @${localpart}:<server name>`)
    return createOAuthSession({name, user: given, homeserver, store, metadata, deviceId: opts.deviceId, deviceName: opts.deviceName, showCode: opts.showCode, sleep: opts.sleep}, deps)
  }
  const password = await opts.password()

  const client = deps.client(homeserver)
  const hsKey = homeserverKey(homeserver)
  const deviceFor = (u: UserId) => opts.deviceId ?? deriveDeviceId(u.full, name)
  // Where a login goes: `who` is the identifier sent, a full ID or, until the server has named the
  // account, the localpart. Without a full ID or a chosen device ID, the first login is a probe.
  interface Target {
    who: string
    deviceId: string
    probe?: boolean
  }
  const account = (t: Target) => secretAccount(t.who, t.deviceId)
  const pendingFor = (t: Target): PendingLogin => ({name, userId: t.who, deviceId: t.deviceId, homeserver: hsKey, store: store.kind, since: deps.now().toISOString()})
  const sessionTarget = (u: UserId): Target => ({who: u.full, deviceId: deviceFor(u)})

  // What could outlive this run on the server if it stopped now: a device whose login is under
  // way (its token may exist even though the answer never came back), or a token only held here.
  let loginInFlight = false
  let liveToken: string | undefined
  const login = async (t: Target) => {
    loginInFlight = true
    const displayName = t.probe ? 'mxtok create (temporary)' : (opts.deviceName ?? `mxtok: ${name}`)
    const result = await loginOrExplain(client, {user: t.who, password, deviceId: t.deviceId, displayName}).catch((error) => {
      if (error instanceof MxtokError || (error instanceof MatrixError && (!error.isLocal || error.notSent))) loginInFlight = false
      throw error
    })
    loginInFlight = false
    liveToken = result.accessToken
    if (result.deviceId !== t.deviceId) {
      // If this logout fails, the token stays live and the clean-up below tries once more.
      await logout(result.accessToken).catch(() => {})
      throw wrongAnswer(homeserver, `logged in to device ${result.deviceId} instead of the requested ${t.deviceId}; the server ignores requested device IDs, so mxtok cannot manage this session (the new token was logged out)`)
    }
    const user = parseAnsweredUserId(result.userId, homeserver, 'the login')
    if (t.who.startsWith('@') && user.full !== t.who) {
      await logout(result.accessToken).catch(() => {})
      throw wrongAnswer(homeserver, `logged in as ${user.full} instead of ${t.who} (the new token was logged out)`)
    }
    return {...result, user}
  }
  const logout = async (token: string) => {
    await client.logout(token)
    if (liveToken === token) liveToken = undefined
  }
  // Journal entries are swapped in one update, so that some entry covers the device at every moment.
  const journal = (add: Target | undefined, remove?: Target) =>
    deps.registry.update((_, pending) => {
      if (remove) pending.delete(account(remove))
      if (add) pending.set(account(add), pendingFor(add))
    })
  const assertDeviceFree = async (t: Target) => {
    // Before the server has named the account, a session of the same localpart on this homeserver counts.
    const same = (s: Session) => (t.who.startsWith('@') ? s.userId === t.who : s.homeserver === hsKey && s.userId.slice(1, s.userId.indexOf(':')) === t.who)
    const clash = (await deps.registry.list()).find((s) => s.name !== name && s.deviceId === t.deviceId && same(s))
    if (clash) throw usageError(`device ${t.deviceId} already belongs to session "${clash.name}"; revoke that session first or choose another --device-id`)
  }

  let target: Target = given ? sessionTarget(given) : opts.deviceId ? {who: localpart, deviceId: opts.deviceId} : {who: localpart, deviceId: probeDeviceId(localpart, hsKey, name), probe: true}
  if (!target.probe) await assertDeviceFree(target)
  await journal(target)
  let previous: Session | undefined
  let session: Session
  try {
    let first = await login(target)
    const user = first.user
    // Logged in by localpart: the journal and the logins from here on name the account as the server does.
    if (target.who !== user.full) {
      const wanted = sessionTarget(user)
      if (target.probe) {
        // The probe did its job: its device goes, and the session's device is logged in to afresh.
        await logout(first.accessToken)
        await assertDeviceFree(wanted)
        await journal(wanted, target)
        target = wanted
        first = await login(target)
      } else {
        await journal(wanted, target)
        target = wanted
      }
    }
    const deviceId = target.deviceId
    try {
      await logout(first.accessToken)
    } catch (error) {
      if (!(error instanceof MatrixError)) throw error
      throw new MatrixError({status: error.status, errcode: error.errcode, message: `${error.message} (while resetting device ${deviceId}: run create again to finish)`, cause: error})
    }
    const fresh = await login(target)
    session = {name, userId: user.full, homeserver: hsKey, deviceId, createdAt: deps.now().toISOString(), store: store.kind}
    // Under the registry lock, so that concurrent runs write the store and the registry in turn.
    previous = await deps.registry.update(async (sessions, pending) => {
      await store.set(account(target), fresh.accessToken)
      const old = sessions.get(name)
      sessions.set(name, session)
      pending.delete(account(target))
      return old
    })
    liveToken = undefined
  } catch (error) {
    // A token that this run cannot keep is logged out; only then is nothing left to report.
    if (liveToken) await logout(liveToken).catch((e) => deps.warn(`could not log out a token that mxtok could not keep (${(e as Error).message})`))
    if (!liveToken && !loginInFlight) await journal(undefined, target).catch(() => {})
    else deps.warn(`device ${target.deviceId} of ${target.who} may hold a token nobody has; run "${createAgainCommand({...pendingFor(target), name})}" again to reset it ("mxtok doctor" lists it meanwhile)`)
    throw error
  }

  // Replaced by a session on another device: that old token would otherwise live on, held by nobody.
  if (previous && secretAccount(previous.userId, previous.deviceId) !== account(target)) {
    await retireReplaced(previous, deps)
  }
  return session
}

const wrongAnswer = (homeserver: URL, what: string) =>
  new MatrixError({status: 200, errcode: LocalErrcode.badResponse, message: `${homeserver.host} ${what}`})
