import {MxtokError} from '../errors.js'
import {processAlive} from '../fs/process-alive.js'
import type {PendingLogin} from '../registry/session.js'
import {secretAccount} from '../store/secret-store.js'
import type {Deps} from './deps.js'

/**
 * This run, as its journal entries name it, and how long it may hold a device: `by` is user@host,
 * `pid` its process; `requestMs` is the longest one homeserver request of it may take, its timeout
 * (MXTOK_TIMEOUT) after the rate-limit waits it may sit through (RATE_LIMIT_BUDGET_MS).
 */
export interface RunSelf {
  by: string
  pid: number
  requestMs: number
}

/**
 * Added to a lease for what is not a homeserver request (the store's and the registry's writes)
 * and for the skew of two operators' clocks, which compare it.
 */
export const LEASE_MARGIN_MS = 60_000

/**
 * The end of the lease a run takes on a device it journals: it may send `requests` requests, each
 * taking at most `self.requestMs`, and besides wait `waitMs` (a device grant's life); one more
 * request is counted for ending what it made if it fails.
 */
export function leaseUntil(now: Date, self: RunSelf, requests: number, waitMs = 0): string {
  return new Date(now.getTime() + (requests + 1) * self.requestMs + waitMs + LEASE_MARGIN_MS).toISOString()
}

/** The journal entry is this run's own. */
export const isOwn = (entry: PendingLogin | undefined, self: RunSelf) => entry !== undefined && entry.by === self.by && entry.pid === self.pid

/**
 * Whether another run still holds the device of `entry`: its lease has not run out. An entry with
 * no lease (from an older mxtok), one whose lease ran out, and one of a process of this host that
 * is gone are leftovers of a killed run, which anyone may take over.
 */
export function heldByAnother(entry: PendingLogin, self: RunSelf, now: Date, alive: (pid: number) => boolean = processAlive): boolean {
  const {by, pid, until} = entry
  if (by === undefined || pid === undefined || until === undefined) return false
  if (Date.parse(until) <= now.getTime() || isOwn(entry, self)) return false
  return hostOf(by) !== hostOf(self.by) || alive(pid)
}

const hostOf = (by: string) => by.slice(by.lastIndexOf('@') + 1)

/** Who holds an entry, as messages name it. */
export const holder = (entry: PendingLogin) => `${entry.by} pid ${entry.pid}`

/** The refusal of a login to a device that another run holds: before any request, so nothing is made. */
export function lockedByAnother(entry: PendingLogin): MxtokError {
  const what =
    'name' in entry && entry.name !== undefined
      ? `session "${entry.name}" (device ${entry.deviceId} of ${entry.userId})`
      : `device ${entry.deviceId} of ${entry.userId}`
  return new MxtokError(
    'config',
    `${what} is being logged in to by another run (${holder(entry)}, since ${entry.since}, until ${entry.until}); wait for it, or run this again after ${entry.until} or once "mxtok doctor" shows it interrupted`,
  )
}

/**
 * Refuses now a login to a device that another run holds, before anything is asked of the server
 * or the user: the same refusal journalledLogin makes when it journals, where it is decided.
 */
export async function refuseIfHeld(who: string, deviceId: string, deps: Pick<Deps, 'registry' | 'self' | 'now'>): Promise<void> {
  const account = secretAccount(who, deviceId)
  const held = (await deps.registry.pending()).find((p) => secretAccount(p.userId, p.deviceId) === account)
  if (held && heldByAnother(held, deps.self, deps.now())) throw lockedByAnother(held)
}
