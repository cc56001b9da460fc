import type {ListedSession, ListReport} from '../core/list-sessions.js'
import {sortNatural} from './natural-order.js'
import {dash, formatTs, renderTable, type TableOptions} from './table.js'

export const SESSION_HEAD = ['NAME', 'USER', 'DEVICE', 'ON SERVER', 'LAST SEEN IP', 'LAST SEEN (UTC)', 'HOMESERVER']
export const NO_SESSIONS = 'No sessions. Create one with "mxtok create NAME --user @you:example.com".'

export function sessionRow(s: ListedSession, offline: boolean): string[] {
  const onServer = s.onServer === null ? (offline ? '-' : 'unknown') : s.onServer ? 'yes' : 'NO'
  // An admin login has no device: the column says so, and until when its token lives. An admin
  // client has neither user nor device; a token that reaches MAS's admin API says so by its user.
  const device =
    s.adminBy !== undefined
      ? `none: admin login, ${s.expiresAt === undefined ? 'no expiry' : `expires ${formatTs(Date.parse(s.expiresAt))}`}`
      : (s.deviceId ?? 'none')
  const user = userCell(s)
  const noDevice = s.adminBy !== undefined || s.deviceId === null
  return [s.name, user, device, noDevice ? '-' : onServer, dash(s.lastSeenIp), formatTs(s.lastSeenTs), s.homeserver]
}

/** Whose token it is, as the USER column shows it: an admin client is no user, and a token that reaches MAS's admin API says so. */
export function userCell(s: {userId: string | null; masAdmin?: 'user' | 'client'; clientId?: string}): string {
  if (s.masAdmin === 'client') return `none: MAS admin client ${s.clientId}`
  return s.masAdmin === 'user' ? `${s.userId} (MAS admin)` : (s.userId ?? 'none')
}

/** The accounts' devices that no local session owns, as lines under their heading; none when there are none. */
export function renderOtherDevices(report: ListReport, table: TableOptions): string[] {
  if (report.devices.length === 0) return []
  const rows = sortNatural(report.devices, (d) => `${d.userId} ${d.deviceId}`).map((d) => [
    d.userId,
    d.deviceId,
    dash(d.displayName),
    dash(d.lastSeenIp),
    formatTs(d.lastSeenTs),
    d.orphan ? 'orphan: no local session' : d.neverSeen ? 'never used: no name, never seen (prune --never-seen)' : '',
    d.homeserver,
  ])
  return ['', 'Other devices of these accounts:'].concat(
    renderTable(['USER', 'DEVICE', 'DISPLAY NAME', 'LAST SEEN IP', 'LAST SEEN (UTC)', 'NOTE', 'HOMESERVER'], rows, table),
  )
}

/** The human view of `mxtok list`, as lines. */
export function renderList(report: ListReport, offline: boolean, table: TableOptions): string[] {
  // concat, not push(...rows): spreading 250,000 rows as arguments overflows the stack.
  const sessions =
    report.sessions.length === 0
      ? [NO_SESSIONS]
      : renderTable(
          SESSION_HEAD,
          sortNatural(report.sessions, (s) => s.name).map((s) => sessionRow(s, offline)),
          table,
        )
  return sessions.concat(renderOtherDevices(report, table))
}

export const listJson = (report: ListReport) => ({sessions: report.sessions, devices: report.devices})
