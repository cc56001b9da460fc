import {usageError} from '../errors.js'
import type {Device} from '../matrix/client.js'
import {DEVICE_ID_PREFIX} from '../matrix/device-id-prefix.js'
import {withContext} from '../matrix/errors.js'
import type {MasSessionKind} from '../matrix/mas-admin-client.js'
import type {Session} from '../registry/session.js'
import {secretAccount} from '../store/secret-store.js'
import type {Deps} from './deps.js'
import {heldByAnother} from './lease.js'
import {isNeverSeen} from './never-seen.js'

/**
 * What prune's selectors read, of a device (Synapse) or of a session at MAS: its device, if it has
 * one, its name and when it was last used.
 */
export interface PruneCandidate {
  deviceId: string | null
  displayName: string | null
  lastSeenTs: number | null
}

/** A session at MAS as prune shows it: a device's fields, and which session it is. */
export interface MasSessionEntry extends PruneCandidate {
  kind: MasSessionKind
  id: string
  lastSeenIp: string | null
}

export interface PruneSelectors {
  /** Select devices named MXTOK… that no local session owns. */
  orphans?: boolean
  /** Select devices with no display name that were never seen (see isNeverSeen). */
  neverSeen?: boolean
  /** Select devices last seen longer ago than this; a device never seen is not selected (its age is unknown). */
  inactiveDays?: number
  /** Keep this many of the most recently seen devices that no local session owns, selecting the rest. */
  keep?: number
}

/** The devices about to be deleted (Synapse), or the sessions about to be ended (MAS). */
export type PrunePlan = DevicePlan | MasSessionPlan

export interface DevicePlan {
  userId: string
  homeserver: string
  devices: Device[]
}

export interface MasSessionPlan {
  userId: string
  homeserver: string
  /** The MAS whose admin API listed and ends the sessions. */
  authServer: string
  sessions: MasSessionEntry[]
}

export interface DevicePruneResult extends DevicePlan {
  dryRun: boolean
  /** The IDs of the devices deleted: all of `devices`, or none for a dry run. */
  deleted: string[]
}

export interface MasSessionPruneResult extends MasSessionPlan {
  dryRun: boolean
  /** The IDs of the sessions ended: all of `sessions`, or none for a dry run. */
  ended: string[]
}

export type PruneResult = DevicePruneResult | MasSessionPruneResult

export interface EndOptions {
  dryRun?: boolean
  /** Sees the plan; false cancels. Not called for a dry run, nor when nothing is selected. */
  confirm: (plan: PrunePlan) => Promise<boolean>
  /** Told how many of the selected are done after each batch. */
  progress?: (done: number, total: number) => void
}

/** How one kind of server ends what was selected. */
export interface Ender<T> {
  /** Items a request (or a run of requests) of `end`. */
  batchSize: number
  end: (batch: T[]) => Promise<void>
  id: (item: T) => string
  /** For the messages: "devices" / "deleted", "sessions" / "ended". */
  noun: string
  verb: string
}

/** How long a journalled login counts as under way rather than left behind by a killed run. */
export const PENDING_GRACE_MS = 10 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000

export function checkSelectors(opts: PruneSelectors): void {
  if (!opts.orphans && !opts.neverSeen && opts.inactiveDays === undefined && opts.keep === undefined)
    throw usageError('say which devices to delete: --orphans, --never-seen, --inactive-days N, --keep N, or a combination')
  if (opts.inactiveDays !== undefined && !(Number.isInteger(opts.inactiveDays) && opts.inactiveDays >= 1)) {
    throw usageError(`--inactive-days must be a whole number of days, 1 or more (got ${opts.inactiveDays})`)
  }
  if (opts.keep !== undefined && !(Number.isInteger(opts.keep) && opts.keep >= 0))
    throw usageError(`--keep must be a whole number, 0 or more (got ${opts.keep})`)
}

/** The devices of the user that prune never deletes: those of local sessions, and those a create running right now has journalled. */
export async function ownedDevices(sessions: Session[], userId: string, deps: Deps): Promise<Set<string>> {
  const owned = new Set(sessions.filter((s) => s.userId === userId).map((s) => s.deviceId))
  // A create running right now has journalled its device: spare it while its lease holds, and
  // anyway until it is clearly abandoned.
  const now = deps.now()
  for (const p of await deps.registry.pending()) {
    if (p.userId === userId && (now.getTime() - Date.parse(p.since) < PENDING_GRACE_MS || heldByAnother(p, deps.self, now))) owned.add(p.deviceId)
  }
  return owned
}

/**
 * Each selector narrows: --orphans --inactive-days 30 means orphans unused for 30 days, and --keep N
 * spares the N most recently seen of the devices no local session owns (a device never seen counts
 * as the oldest), whatever else is asked. Anything on an owned device is never selected; at MAS
 * that spares every session on it (a personal token bound to a local session's device too).
 */
export function selectDevices<T extends PruneCandidate>(devices: T[], owned: Set<string>, opts: PruneSelectors, now: Date): T[] {
  const candidates = devices.filter((d) => d.deviceId === null || !owned.has(d.deviceId))
  const newestFirst = [...candidates].sort((a, b) => (b.lastSeenTs ?? -Infinity) - (a.lastSeenTs ?? -Infinity) || byDevice(a, b))
  const kept = new Set(newestFirst.slice(0, opts.keep ?? 0))
  const cutoff = opts.inactiveDays === undefined ? undefined : now.getTime() - opts.inactiveDays * DAY_MS
  return candidates.filter(
    (d) =>
      !kept.has(d) &&
      (!opts.orphans || (d.deviceId ?? '').startsWith(DEVICE_ID_PREFIX)) &&
      (!opts.neverSeen || isNeverSeen(d)) &&
      (cutoff === undefined || (d.lastSeenTs !== null && d.lastSeenTs < cutoff)),
  )
}

const byDevice = (a: PruneCandidate, b: PruneCandidate) => {
  const [x, y] = [a.deviceId ?? '', b.deviceId ?? '']
  return x < y ? -1 : x > y ? 1 : 0
}

/**
 * Shows the plan (dry run), or confirms it and ends the selected in batches, saying how far it got
 * if a batch fails. The journal entries of abandoned creates on their devices go too: their tokens
 * died with them, and doctor would otherwise go on naming them.
 */
export async function endSelected<T extends PruneCandidate>(
  plan: PrunePlan,
  selected: T[],
  opts: EndOptions,
  how: Ender<T>,
  deps: Deps,
): Promise<{dryRun: boolean; done: string[]}> {
  if (opts.dryRun || selected.length === 0) return {dryRun: Boolean(opts.dryRun), done: []}
  if (!(await opts.confirm(plan))) throw usageError(`cancelled: nothing was ${how.verb}`)
  const done: T[] = []
  const forgetJournal = () => forgetJournalled(plan.userId, done, how, deps)
  for (let i = 0; i < selected.length; i += how.batchSize) {
    const batch = selected.slice(i, i + how.batchSize)
    try {
      await how.end(batch)
    } catch (error) {
      if (done.length === 0) throw error
      await forgetJournal()
      throw withContext(error, ` (${done.length} of ${selected.length} ${how.noun} were ${how.verb} before this; run prune again for the rest)`)
    }
    done.push(...batch)
    opts.progress?.(done.length, selected.length)
  }
  await forgetJournal()
  return {dryRun: false, done: done.map(how.id)}
}

/** Drops the journal entries of these devices, if any; a failure to is only a warning, the devices being gone. */
async function forgetJournalled(userId: string, ended: PruneCandidate[], how: {noun: string; verb: string}, deps: Deps): Promise<void> {
  const gone = new Set(ended.flatMap((d) => (d.deviceId === null ? [] : [secretAccount(userId, d.deviceId)])))
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
      `the ${how.noun} were ${how.verb}, but their entries in ${deps.registry.path} could not be cleared (${(error as Error).message}); "mxtok doctor" may still name them`,
    )
  }
}
