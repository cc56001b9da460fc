import {randomBytes} from 'node:crypto'
import {MxtokError, usageError} from '../errors.js'
import type {Device, MatrixClient} from '../matrix/client.js'
import {base32} from '../matrix/device-id.js'
import {DEVICE_ID_PREFIX} from '../matrix/device-id-prefix.js'
import {LocalErrcode, MatrixError} from '../matrix/errors.js'
import {homeserverKey, parseHomeserverUrl} from '../matrix/homeserver-url.js'
import {acceptsPassword, passwordAuth, uiaChallenge} from '../matrix/uia.js'
import {isAccount, parseUserId, resolveUserId, type UserId} from '../matrix/user-id.js'
import type {Session} from '../registry/session.js'
import {adminApiRefusal, adminTarget} from './admin-api.js'
import {authIssuer} from './auth-issuer.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readToken} from './find-session.js'
import {loginOrExplain} from './login.js'
import {pruneMasSessions} from './prune-mas-sessions.js'
import {
  checkSelectors,
  type DevicePlan,
  type Ender,
  type EndOptions,
  endSelected,
  ownedDevices,
  type PruneResult,
  type PruneSelectors,
  selectDevices,
} from './prune-selection.js'

export interface PruneOptions extends PruneSelectors, EndOptions {
  user: string
  homeserver?: string
  /**
   * Work with this admin session, with no password: through Synapse's admin API, or on a server
   * behind MAS through MAS's admin API, which lists and ends the user's sessions instead of devices.
   */
  as?: string
  /** Asked at most once, and only when a login or the deletion needs it. */
  password: () => Promise<string>
}

export type {DevicePruneResult, MasSessionPruneResult, PrunePlan, PruneResult} from './prune-selection.js'
export {PENDING_GRACE_MS} from './prune-selection.js'

/**
 * Devices per delete_devices request, each request with its own authentication: Synapse deletes in
 * transactions of 1,000, and 1,000 IDs (up to 512 characters each) stay far below its 12.5 MiB
 * request limit. Thousands of devices take a few requests, not one that could outlast the timeout.
 */
export const DELETE_BATCH_SIZE = 1000
export const TEMPORARY_DEVICE_NAME = 'mxtok prune (temporary)'

interface Access {
  client: MatrixClient
  homeserver: string
  user: UserId
  token: string
  /** The device whose token is in use: never deleted, since that would end this run's own access. */
  deviceId: string
  /** Set for a login made for this run alone, logged out at the end. */
  temporary: boolean
}

/**
 * Deletes devices of an account through User-Interactive Auth with the password. Never a device of
 * a local session, nor the one it uses itself. It uses a live local session's token when there is
 * one, and otherwise logs in with a temporary device that it always logs out again. A server behind
 * MAS lets no client delete devices: there it refuses, naming --as, before any password is asked.
 */
export async function pruneDevices(opts: PruneOptions, deps: Deps): Promise<PruneResult> {
  checkSelectors(opts)
  if (opts.as !== undefined) return pruneAsAdmin({...opts, as: opts.as}, deps)
  const homeserverUrl = opts.homeserver === undefined ? undefined : parseHomeserverUrl(opts.homeserver)
  if (homeserverUrl) deps.client(homeserverUrl).assertSendable()
  const user = resolveUserId(opts.user, homeserverUrl?.host)
  let asked: Promise<string> | undefined
  const password = () => (asked ??= opts.password())

  const sessions = await deps.registry.list()
  const live = await liveSession(sessions, opts.user, homeserverUrl, deps)
  const homeserver = live ? new URL(live.homeserver) : (homeserverUrl ?? recordedHomeserver(sessions, user) ?? (await deps.discover(user)))
  if ((await masIssuer(homeserver.href, deps)) !== null) throw behindMas(homeserver, live?.user ?? user)
  const access = live ?? (await temporaryLogin(opts.user, user, homeserver, password, deps))
  try {
    const devices = live?.devices ?? (await access.client.devices(access.token))
    // By the user ID the server confirmed: a localpart given with --homeserver may have been completed wrongly.
    const owned = await ownedDevices(sessions, access.user.full, deps)
    owned.add(access.deviceId)
    const plan: DevicePlan = {userId: access.user.full, homeserver: access.homeserver, devices: selectDevices(devices, owned, opts, deps.now())}
    const ended = await endSelected(
      plan,
      plan.devices,
      opts,
      deleting((batch) => deleteWithPassword(access, batch, password)),
      deps,
    )
    return {...plan, dryRun: ended.dryRun, deleted: ended.done}
  } finally {
    if (access.temporary) await logoutTemporary(access, deps)
  }
}

/**
 * The issuer of the homeserver's next-generation auth (MAS), or null. An answer that says nothing
 * clear (an odd status, a page instead of JSON) counts as none, as before prune asked: such a
 * server is left to answer the deletion itself.
 */
async function masIssuer(homeserver: string, deps: Deps): Promise<string | null> {
  try {
    return await authIssuer(homeserver, deps)
  } catch (error) {
    if (error instanceof MatrixError && error.status > 0) return null
    throw error
  }
}

/** The one line for a server behind MAS without --as: what to run instead. */
function behindMas(homeserver: URL, user: UserId): MxtokError {
  return usageError(
    `${homeserver.host} is behind MAS, which does not let clients delete devices; an admin ends sessions there: "mxtok prune --user ${user.full} --as ADMIN ...", ADMIN being a session made with "mxtok create ADMIN --user @admin:${user.serverName} --oauth --admin"`,
  )
}

/** Synapse's way to delete: batches of DELETE_BATCH_SIZE device IDs. */
const deleting = (remove: (batch: string[]) => Promise<void>): Ender<Device> => ({
  batchSize: DELETE_BATCH_SIZE,
  end: (batch) => remove(batch.map((d) => d.deviceId)),
  id: (d) => d.deviceId,
  noun: 'devices',
  verb: 'deleted',
})

/**
 * The admin way: with the token of an admin session, on that session's homeserver. Behind MAS,
 * the user's sessions through MAS's admin API (prune-mas-sessions.ts); otherwise the user's devices
 * through Synapse's admin API. The same selection and confirmation, and the devices of local
 * sessions of that user are spared all the same.
 */
async function pruneAsAdmin(opts: PruneOptions & {as: string}, deps: Deps): Promise<PruneResult> {
  if (opts.homeserver !== undefined) throw usageError('--as works on the homeserver of the admin session; leave out --homeserver')
  const admin = await findSession(opts.as, deps)
  const issuer = await masIssuer(admin.homeserver, deps)
  if (issuer !== null) return pruneMasSessions(opts, issuer, deps)
  const user = adminTarget(admin, opts.user)
  const token = await readToken(admin, deps)
  if (token === null) throw missingToken(admin)
  const client = deps.client(admin.homeserver)
  const refused = (error: unknown) => adminApiRefusal(error, admin, user, client.baseUrl.host, 'list or delete the devices of another user')
  const devices = await client.adminDevices(token, user.full).catch((error) => {
    throw refused(error)
  })
  const owned = await ownedDevices(await deps.registry.list(), user.full, deps)
  const plan: DevicePlan = {userId: user.full, homeserver: admin.homeserver, devices: selectDevices(devices, owned, opts, deps.now())}
  const remove = (batch: string[]) =>
    client.adminDeleteDevices(token, user.full, batch).catch((error) => {
      throw refused(error)
    })
  const ended = await endSelected(plan, plan.devices, opts, deleting(remove), deps)
  return {...plan, dryRun: ended.dryRun, deleted: ended.done}
}

/**
 * The first local session of the account whose token still works, with the device list it fetched.
 * A localpart (given with --homeserver) matches the sessions of that localpart on that homeserver:
 * their IDs are the server's, which completing it with the homeserver's host may not give.
 */
async function liveSession(
  sessions: Session[],
  given: string,
  homeserverUrl: URL | undefined,
  deps: Deps,
): Promise<(Access & {devices: Device[]}) | undefined> {
  // A token goes only to the server its session was created on.
  const candidates = sessions.filter((s) => isAccount(s.userId, given) && (!homeserverUrl || s.homeserver === homeserverKey(homeserverUrl)))
  // Two accounts of that localpart: the login of a temporary device will say which one it is.
  if (new Set(candidates.map((s) => s.userId)).size > 1) return undefined
  for (const session of candidates) {
    const user = parseUserId(session.userId)
    const token = await tokenOf(session, deps)
    if (token === null) continue
    const client = deps.client(session.homeserver)
    try {
      const devices = await client.devices(token)
      return {client, homeserver: session.homeserver, user, token, deviceId: session.deviceId, temporary: false, devices}
    } catch (error) {
      if (error instanceof MatrixError && error.errcode === 'M_UNKNOWN_TOKEN') continue
      throw error
    }
  }
  return undefined
}

/**
 * Where the user's local sessions say the account lives, when none of their tokens works: that is
 * the server the user chose at create, and discovery may not even answer (a delegated or private
 * server name). Several different ones are not guessed between.
 */
function recordedHomeserver(sessions: Session[], user: UserId): URL | undefined {
  const recorded = [...new Set(sessions.filter((s) => s.userId === user.full).map((s) => s.homeserver))]
  if (recorded.length > 1)
    throw usageError(`the local sessions of ${user.full} name different homeservers (${recorded.join(', ')}); say which with --homeserver`)
  return recorded.length === 1 ? new URL(recorded[0]) : undefined
}

async function tokenOf(session: Session, deps: Deps): Promise<string | null> {
  try {
    return await readToken(session, deps)
  } catch (error) {
    if (!(error instanceof MxtokError)) throw error
    deps.warn(`cannot read the token of session "${session.name}" (${error.message}); logging in with the password instead`)
    return null
  }
}

async function temporaryLogin(given: string, user: UserId, homeserver: URL, password: () => Promise<string>, deps: Deps): Promise<Access> {
  const client = deps.client(homeserver)
  // A localpart goes as given: the server knows its own name, which need not be its host.
  const result = await loginOrExplain(client, {
    user: given.startsWith('@') ? user.full : user.localpart,
    password: await password(),
    deviceId: `${DEVICE_ID_PREFIX}${base32(randomBytes(8)).slice(0, 10)}`,
    displayName: TEMPORARY_DEVICE_NAME,
  })
  const access: Access = {client, homeserver: homeserverKey(homeserver), user, token: result.accessToken, deviceId: result.deviceId, temporary: true}
  let actual: UserId | undefined
  try {
    actual = parseUserId(result.userId)
  } catch {
    // reported below, once the token is logged out
  }
  if (actual && (actual.full === user.full || !given.startsWith('@'))) return {...access, user: actual}
  await logoutTemporary(access, deps)
  throw new MatrixError({
    status: 200,
    errcode: LocalErrcode.badResponse,
    message: `${homeserver.host} logged in as ${result.userId} instead of ${user.full} (the temporary login was logged out)`,
  })
}

async function logoutTemporary(access: Access, deps: Deps): Promise<void> {
  try {
    await access.client.logout(access.token)
  } catch (error) {
    deps.warn(`could not log out the temporary device ${access.deviceId} (${(error as Error).message}); "mxtok prune --orphans" deletes it later`)
  }
}

/** One delete_devices request through User-Interactive Auth with the account's password. */
async function deleteWithPassword(access: Access, deviceIds: string[], password: () => Promise<string>): Promise<void> {
  const host = access.client.baseUrl.host
  let challenge
  try {
    // Without auth, the server answers with the flows it accepts (or, inside a grace period after a recent authentication, just deletes).
    return await access.client.deleteDevices(access.token, deviceIds)
  } catch (error) {
    challenge = uiaChallenge(error)
    if (!challenge) throw explainDeleteFailure(error, host)
  }
  if (!acceptsPassword(challenge)) {
    const stages = challenge.flows!.map((f) => f.join(' + ')).join(', ')
    throw new MxtokError(
      'loginRefused',
      `${host} does not accept a password to delete devices (it asks for: ${stages || 'nothing mxtok knows'}); delete them from a client such as Element`,
    )
  }
  try {
    await access.client.deleteDevices(access.token, deviceIds, passwordAuth(access.user.full, await password(), challenge.session))
  } catch (error) {
    const refused = uiaChallenge(error)
    if (!refused) throw explainDeleteFailure(error, host)
    if (refused.errcode === 'M_FORBIDDEN')
      throw new MxtokError('loginRefused', `${host} refused the password for ${access.user.full}: wrong password; nothing was deleted`, {cause: error})
    throw new MxtokError('loginRefused', `${host} asks for more than a password to delete devices; delete them from a client such as Element`, {cause: error})
  }
}

function explainDeleteFailure(error: unknown, host: string): unknown {
  // Servers on next-generation auth (MAS) manage devices in the account portal, not through the client API.
  if (error instanceof MatrixError && error.status === 404) {
    return new MatrixError({
      status: 404,
      errcode: error.errcode,
      message: `${host} does not let clients delete devices (HTTP 404); delete them in the account management page of the homeserver`,
      cause: error,
    })
  }
  return error
}
