import {usageError} from '../errors.js'
import {deriveDeviceId, isDeviceId} from '../matrix/device-id.js'
import {parseHomeserverUrl} from '../matrix/homeserver-url.js'
import {parseLocalpart, parseUserId} from '../matrix/user-id.js'
import type {Session} from '../registry/session.js'
import type {StoreKind} from '../store/store-kinds.js'
import {createOAuthSession, type DeviceCodePrompt, oauthMetadata} from './create-oauth-session.js'
import {createPasswordSession} from './create-password-session.js'
import type {Deps} from './deps.js'
import {refuseIfHeld} from './lease.js'
import {newSessionStore} from './new-session-store.js'
import {validateSessionName} from './session-name.js'

export interface CreateOptions {
  name: string
  user: string
  homeserver?: string
  deviceName?: string
  deviceId?: string
  /** Asked for only once everything that can be checked locally is fine. */
  password: () => Promise<string>
  store?: StoreKind
  /** Log in through next-generation auth (OAuth 2.0) even when the server offers password logins. */
  oauth?: boolean
  /** With oauth: ask for MAS's admin API too. */
  admin?: boolean
  /** Shows where to approve an OAuth login; the password is not asked for then. */
  showCode?: (prompt: DeviceCodePrompt) => void | Promise<void>
  /** Waits between polls of an OAuth login. */
  sleep?: (ms: number) => Promise<void>
}

/**
 * Logs in with the session's device ID and keeps the token: through OAuth 2.0 when the server offers
 * no password login, or with --oauth (create-oauth-session.ts); else with the password
 * (create-password-session.ts). Both journal every device a login may create before it
 * (journalled-login.ts).
 */
export async function createSession(opts: CreateOptions, deps: Deps): Promise<Session> {
  const name = validateSessionName(opts.name)
  if (opts.deviceId !== undefined && !isDeviceId(opts.deviceId)) {
    throw usageError(`--device-id "${opts.deviceId}" is not valid: use 1-255 letters, digits, ".", "_", "~" or "-"`)
  }
  const homeserverUrl = opts.homeserver === undefined ? undefined : parseHomeserverUrl(opts.homeserver)
  if (homeserverUrl) deps.client(homeserverUrl).assertSendable()
  // A bare localpart is sent as it is: the server name that completes it need not be the host of
  // the homeserver's URL (Synapse answers a login for a wrongly completed ID like a wrong password).
  const given = opts.user.startsWith('@') ? parseUserId(opts.user) : undefined
  const localpart = given?.localpart ?? parseLocalpart(opts.user)
  if (!given && !homeserverUrl) throw usageError(`--user "${opts.user}" is not a full Matrix ID; write @${opts.user}:your.server or pass --homeserver`)
  // The device is known from a full user ID: if another run holds it, this one stops before the
  // server or the user is asked anything.
  if (given) await refuseIfHeld(given.full, opts.deviceId ?? deriveDeviceId(given.full, name), deps)
  const homeserver = homeserverUrl ?? (await deps.discover(given!))
  const store = newSessionStore(opts.store, deps)
  // The store check fails before anything exists on the server when the token could not be kept;
  // asking the server how it logs in meanwhile changes nothing there. Both are awaited, so the
  // check's probe item is gone before any error is reported.
  // What the server says it runs is asked alongside: it can spare a password login two requests
  // (one-token-devices.ts), and costs no round trip of its own.
  const forced = opts.oauth || opts.admin
  const software = forced ? Promise.resolve(null) : deps.client(homeserver).serverSoftware()
  const [checked, asked, serverSoftware] = await Promise.allSettled([store.check(), oauthMetadata(homeserver, {forced}, deps), software])
  if (checked.status === 'rejected') throw checked.reason
  if (asked.status === 'rejected') throw asked.reason
  const metadata = asked.value
  const {deviceId, deviceName} = opts
  if (metadata) {
    if (!given)
      throw usageError(
        `a sign-in through the browser needs the full user ID, since its device ID is asked for before the sign-in: write --user @${localpart}:<server name>`,
      )
    return createOAuthSession(
      {name, user: given, homeserver, store, metadata, deviceId, deviceName, admin: opts.admin, showCode: opts.showCode, sleep: opts.sleep},
      deps,
    )
  }
  const password = await opts.password()
  const said = serverSoftware.status === 'fulfilled' ? serverSoftware.value : null
  return createPasswordSession({name, user: given ?? localpart, homeserver, store, password, deviceId, deviceName, serverSoftware: said}, deps)
}
