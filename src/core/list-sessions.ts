import {MxtokError} from '../errors.js'
import type {Device} from '../matrix/client.js'
import {DEVICE_ID_PREFIX} from '../matrix/device-id-prefix.js'
import {MatrixError} from '../matrix/errors.js'
import {madeBy, masAdminFields, type Session, tokenDevice, tokenOwner} from '../registry/session.js'
import type {Deps} from './deps.js'
import {readToken} from './find-session.js'
import {mapLimit} from './map-limit.js'
import {isNeverSeen} from './never-seen.js'

export interface ListedSession {
  name: string
  /** null for an admin client's session, whose token is no user's and on no device. */
  userId: string | null
  deviceId: string | null
  homeserver: string
  /** null: the server could not be asked (offline, unreachable, or no valid token for the account). */
  onServer: boolean | null
  displayName: string | null
  lastSeenIp: string | null
  lastSeenTs: number | null
  /** An admin login's: the admin account that made it; its token is on no device. */
  adminBy?: string
  /** When the token dies, where that is known (ISO 8601). */
  expiresAt?: string
  /** The token reaches MAS's admin API: an admin user's OAuth session ("user"), or an admin client's ("client", with its ID). */
  masAdmin?: 'user' | 'client'
  clientId?: string
}

export interface ListedDevice {
  userId: string
  /** The same user ID can name accounts on two homeservers: this says whose device it is. */
  homeserver: string
  deviceId: string
  displayName: string | null
  lastSeenIp: string | null
  lastSeenTs: number | null
  session: string | null
  /** An mxtok-style device that no local session owns: its token is held by nobody here. */
  orphan: boolean
  /** No name, never seen (isNeverSeen): as shared-secret registration leaves, its token held by nobody; `prune --never-seen` selects it. */
  neverSeen: boolean
}

export interface ListReport {
  sessions: ListedSession[]
  /** The accounts' devices that no local session owns. */
  devices: ListedDevice[]
  /** Accounts whose devices could not be listed, with why. */
  problems: string[]
}

export const LIST_CONCURRENCY = 8

/** For showing rows early: fires as soon as an account's devices are known, with its sessions as listed. */
export interface ListWatch {
  onAccount?(sessions: ListedSession[]): void
}

/** The local sessions beside their accounts' device lists: one GET /devices per account. */
export async function listSessions(opts: {offline?: boolean}, deps: Deps, watch: ListWatch = {}): Promise<ListReport> {
  const sessions = await deps.registry.list()
  // Grouping and matching stay linear: an account of a busy bridge can hold hundreds of sessions.
  // Keyed by homeserver and user: the same user ID on two homeservers is two accounts.
  const accounts = new Map<string, Session[]>()
  for (const s of sessions) {
    // An admin client has no account, and so no devices to list.
    if (s.auth === 'client') continue
    const key = accountKey(s)
    const group = accounts.get(key)
    if (group) group.push(s)
    else accounts.set(key, [s])
  }
  if (!opts.offline) deps.warmUp?.([...new Set(sessions.map((s) => s.homeserver))])
  const fetched = opts.offline
    ? []
    : await mapLimit([...accounts.values()], LIST_CONCURRENCY, async (group) => {
        const f = await accountDevices(group, deps)
        if ('devices' in f) watch.onAccount?.(group.map((s) => listedSession(s, f.devices)))
        return f
      })
  const deviceById = new Map<string, Map<string, Device>>()
  const problems: string[] = []
  for (const f of fetched) {
    if ('devices' in f) deviceById.set(accountKey(f), new Map(f.devices.map((d) => [d.deviceId, d])))
    else problems.push(f.problem)
  }

  const owned = new Set(sessions.map((s) => `${accountKey(s)} ${s.deviceId}`))
  const listed = sessions.map((s) => {
    const devices = deviceById.get(accountKey(s))
    return listedSession(s, devices ? [devices.get(s.deviceId)] : undefined)
  })
  const others: ListedDevice[] = []
  for (const f of fetched) {
    if (!('devices' in f)) continue
    for (const d of f.devices) {
      if (owned.has(`${accountKey(f)} ${d.deviceId}`)) continue
      others.push({userId: f.userId, homeserver: f.homeserver, ...d, session: null, orphan: d.deviceId.startsWith(DEVICE_ID_PREFIX), neverSeen: isNeverSeen(d)})
    }
  }
  return {sessions: listed, devices: others, problems}
}

/** A session as list shows it, beside its account's devices (the one it owns, or none), undefined when they are not known. */
export function listedSession(s: Session, devices: (Device | undefined)[] | undefined): ListedSession {
  const device = devices?.find((d) => d?.deviceId === s.deviceId)
  const by = madeBy(s)
  return {
    name: s.name,
    ...tokenOwner(s),
    homeserver: s.homeserver,
    // An admin login's token is on no device, so the device list cannot say whether it lives.
    onServer: tokenDevice(s) === null || !devices ? null : Boolean(device),
    displayName: device?.displayName ?? null,
    lastSeenIp: device?.lastSeenIp ?? null,
    lastSeenTs: device?.lastSeenTs ?? null,
    ...(by === undefined ? {} : {adminBy: by}),
    ...(s.expiresAt ? {expiresAt: s.expiresAt} : {}),
    ...masAdminFields(s),
  }
}

type AccountDevices = {userId: string; homeserver: string; devices: Device[]} | {problem: string}

const accountKey = (a: {homeserver: string; userId: string}) => `${a.homeserver} ${a.userId}`

/** Any live token of the account will do; a dead one is skipped for the next. */
async function accountDevices(group: Session[], deps: Deps): Promise<AccountDevices> {
  const {userId, homeserver} = group[0]
  let last = 'no token of this account is stored'
  for (const session of group) {
    try {
      const token = await readToken(session, deps)
      if (token === null) continue
      return {userId, homeserver, devices: await deps.client(homeserver).devices(token)}
    } catch (error) {
      last = (error as Error).message
      if (error instanceof MatrixError && error.errcode === 'M_UNKNOWN_TOKEN') continue
      if (error instanceof MxtokError && error.kind === 'tokenInvalid') continue
      break
    }
  }
  return {problem: `${userId} on ${homeserver}: could not list devices (${last})`}
}
