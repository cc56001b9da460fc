import {randomBytes} from 'node:crypto'
import {MxtokError, usageError} from '../errors.js'
import type {Device, MatrixClient} from '../matrix/client.js'
import {base32} from '../matrix/device-id.js'
import {DEVICE_ID_PREFIX} from '../matrix/device-id-prefix.js'
import {LocalErrcode, MatrixError, withContext} from '../matrix/errors.js'
import {homeserverKey, parseHomeserverUrl} from '../matrix/homeserver-url.js'
import {acceptsPassword, passwordAuth, uiaChallenge} from '../matrix/uia.js'
import {isAccount, parseUserId, resolveUserId, type UserId} from '../matrix/user-id.js'
import type {Session} from '../registry/session.js'
import {secretAccount} from '../store/secret-store.js'
import {adminApiRefusal, adminTarget} from './admin-api.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readToken} from './find-session.js'
import {loginOrExplain} from './login.js'
import {isNeverSeen} from './never-seen.js'

export interface PruneOptions {
  user: string
  homeserver?: string
  /** Select devices named MXTOK… that no local session owns. */
  orphans?: boolean
  /** Select devices with no display name that were never seen (see isNeverSeen). */
  neverSeen?: boolean
  /** Select devices last seen longer ago than this; a device never seen is not selected (its age is unknown). */
  inactiveDays?: number
  /** Keep this many of the most recently seen devices that no local session owns, selecting the rest. */
  keep?: number
  /** Work through Synapse's admin API with this session of a server admin: no password, no User-Interactive Auth. */
  as?: string
  dryRun?: boolean
  /** Asked at most once, and only when a login or the deletion needs it. */
  password: () => Promise<string>
  /** Sees the devices about to be deleted; false cancels. Not called for a dry run, nor when nothing is selected. */
  confirm: (plan: PrunePlan) => Promise<boolean>
  /** Told how many of the selected devices are deleted after each batch (not before the first, which may ask for the password). */
  progress?: (deleted: number, total: number) => void
}

export interface PrunePlan {
  userId: string
  homeserver: string
  devices: Device[]
}

export interface PruneResult extends PrunePlan {
  dryRun: boolean
  /** The IDs of the devices deleted: all of `devices`, or none for a dry run. */
  deleted: string[]
}

/**
 * Devices per delete_devices request, each request with its own authentication: Synapse deletes in
 * transactions of 1,000, and 1,000 IDs (up to 512 characters each) stay far below its 12.5 MiB
 * request limit. Thousands of devices take a few requests, not one that could outlast the timeout.
 */
export const DELETE_BATCH_SIZE = 1000
const DAY_MS = 24 * 60 * 60 * 1000
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

/** How long a journalled login counts as under way rather than left behind by a killed run. */
export const PENDING_GRACE_MS = 10 * 60 * 1000

/**
 * Deletes devices of an account through User-Interactive Auth with the password. Never a device of
 * a local session, nor the one it uses itself. It uses a live local session's token when there is
 * one, and otherwise logs in with a temporary device that it always logs out again.
 */
export async function pruneDevices(opts: PruneOptions, deps: Deps): Promise<PruneResult> {
  if (!opts.orphans && !opts.neverSeen && opts.inactiveDays === undefined && opts.keep === undefined)
    throw usageError('say which devices to delete: --orphans, --never-seen, --inactive-days N, --keep N, or a combination')
  if (opts.inactiveDays !== undefined && !(Number.isInteger(opts.inactiveDays) && opts.inactiveDays >= 1)) {
    throw usageError(`--inactive-days must be a whole number of days, 1 or more (got ${opts.inactiveDays})`)
  }
  if (opts.keep !== undefined && !(Number.isInteger(opts.keep) && opts.keep >= 0))
    throw usageError(`--keep must be a whole number, 0 or more (got ${opts.keep})`)
  if (opts.as !== undefined) return pruneAsAdmin({...opts, as: opts.as}, deps)
  const homeserverUrl = opts.homeserver === undefined ? undefined : parseHomeserverUrl(opts.homeserver)
  if (homeserverUrl) deps.client(homeserverUrl).assertSendable()
  const user = resolveUserId(opts.user, homeserverUrl?.host)
  let asked: Promise<string> | undefined
  const password = () => (asked ??= opts.password())

  const sessions = await deps.registry.list()
  const live = await liveSession(sessions, opts.user, homeserverUrl, deps)
  const access =
    live ?? (await temporaryLogin(opts.user, user, homeserverUrl ?? recordedHomeserver(sessions, user) ?? (await deps.discover(user)), password, deps))
  try {
    const devices = live?.devices ?? (await access.client.devices(access.token))
    // By the user ID the server confirmed: a localpart given with --homeserver may have been completed wrongly.
    const owned = await ownedDevices(sessions, access.user.full, deps)
    owned.add(access.deviceId)
    const plan: PrunePlan = {userId: access.user.full, homeserver: access.homeserver, devices: selectDevices(devices, owned, opts, deps.now())}
    return await deleteSelected(plan, opts, (batch) => deleteWithPassword(access, batch, password), deps)
  } finally {
    if (access.temporary) await logoutTemporary(access, deps)
  }
}

/**
 * The admin way: the user's devices are listed and deleted through Synapse's admin API with the
 * token of a server admin's session, on that session's homeserver; the same selection and
 * confirmation, and the devices of local sessions of that user are spared all the same.
 */
async function pruneAsAdmin(opts: PruneOptions & {as: string}, deps: Deps): Promise<PruneResult> {
  if (opts.homeserver !== undefined) throw usageError('--as works on the homeserver of the admin session; leave out --homeserver')
  const admin = await findSession(opts.as, deps)
  const user = adminTarget(admin, opts.user)
  const token = await readToken(admin, deps)
  if (token === null) throw missingToken(admin)
  const client = deps.client(admin.homeserver)
  const refused = (error: unknown) => adminApiRefusal(error, admin, user, client.baseUrl.host, 'list or delete the devices of another user')
  const devices = await client.adminDevices(token, user.full).catch((error) => {
    throw refused(error)
  })
  const owned = await ownedDevices(await deps.registry.list(), user.full, deps)
  const plan: PrunePlan = {userId: user.full, homeserver: admin.homeserver, devices: selectDevices(devices, owned, opts, deps.now())}
  return deleteSelected(
    plan,
    opts,
    (batch) =>
      client.adminDeleteDevices(token, user.full, batch).catch((error) => {
        throw refused(error)
      }),
    deps,
  )
}

/** The devices of the user that prune never deletes: those of local sessions, and those a create running right now has journalled. */
async function ownedDevices(sessions: Session[], userId: string, deps: Deps): Promise<Set<string>> {
  const owned = new Set(sessions.filter((s) => s.userId === userId).map((s) => s.deviceId))
  // A create running right now has journalled its device: spare it until it is clearly abandoned.
  for (const p of await deps.registry.pending()) {
    if (p.userId === userId && deps.now().getTime() - Date.parse(p.since) < PENDING_GRACE_MS) owned.add(p.deviceId)
  }
  return owned
}

/**
 * Each selector narrows: --orphans --inactive-days 30 means orphans unused for 30 days, and --keep N
 * spares the N most recently seen of the devices no local session owns (a device never seen counts
 * as the oldest), whatever else is asked.
 */
export function selectDevices(
  devices: Device[],
  owned: Set<string>,
  opts: Pick<PruneOptions, 'orphans' | 'neverSeen' | 'inactiveDays' | 'keep'>,
  now: Date,
): Device[] {
  const candidates = devices.filter((d) => !owned.has(d.deviceId))
  const newestFirst = [...candidates].sort(
    (a, b) => (b.lastSeenTs ?? -Infinity) - (a.lastSeenTs ?? -Infinity) || (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0),
  )
  const kept = new Set(newestFirst.slice(0, opts.keep ?? 0).map((d) => d.deviceId))
  const cutoff = opts.inactiveDays === undefined ? undefined : now.getTime() - opts.inactiveDays * DAY_MS
  return candidates.filter(
    (d) =>
      !kept.has(d.deviceId) &&
      (!opts.orphans || d.deviceId.startsWith(DEVICE_ID_PREFIX)) &&
      (!opts.neverSeen || isNeverSeen(d)) &&
      (cutoff === undefined || (d.lastSeenTs !== null && d.lastSeenTs < cutoff)),
  )
}

/**
 * Shows the plan (dry run), or confirms it and deletes in batches, saying how far it got if a batch
 * fails. The journal entries of abandoned creates on deleted devices go too: their tokens died with
 * the devices, and doctor would otherwise go on naming them.
 */
async function deleteSelected(plan: PrunePlan, opts: PruneOptions, remove: (batch: string[]) => Promise<void>, deps: Deps): Promise<PruneResult> {
  const selected = plan.devices
  if (opts.dryRun || selected.length === 0) return {...plan, dryRun: Boolean(opts.dryRun), deleted: []}
  if (!(await opts.confirm(plan))) throw usageError('cancelled: nothing was deleted')
  const deleted: string[] = []
  const forgetJournal = () => forgetJournalled(plan.userId, deleted, deps)
  for (let i = 0; i < selected.length; i += DELETE_BATCH_SIZE) {
    const batch = selected.slice(i, i + DELETE_BATCH_SIZE).map((d) => d.deviceId)
    try {
      await remove(batch)
    } catch (error) {
      if (deleted.length === 0) throw error
      await forgetJournal()
      throw partly(error, deleted.length, selected.length)
    }
    deleted.push(...batch)
    opts.progress?.(deleted.length, selected.length)
  }
  await forgetJournal()
  return {...plan, dryRun: false, deleted}
}

/** Drops the journal entries of these devices, if any; a failure to is only a warning, the devices being gone. */
async function forgetJournalled(userId: string, deviceIds: string[], deps: Deps): Promise<void> {
  const gone = new Set(deviceIds.map((id) => secretAccount(userId, id)))
  try {
    if (!(await deps.registry.pending()).some((p) => gone.has(secretAccount(p.userId, p.deviceId)))) return
    await deps.registry.update(
      (_, pending) => {
        for (const account of gone) pending.delete(account)
      },
      {sessions: []},
    )
  } catch (error) {
    deps.warn(
      `the devices were deleted, but their entries in ${deps.registry.path} could not be cleared (${(error as Error).message}); "mxtok doctor" may still name them`,
    )
  }
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

function partly(error: unknown, done: number, total: number): unknown {
  return withContext(error, ` (${done} of ${total} devices were deleted before this; run prune again for the rest)`)
}
