import type {ListReport} from '../core/list-sessions.js'
import {sortNatural} from './natural-order.js'
import {dash, formatTs, renderTable, type TableOptions} from './table.js'

/** The human view of `mxtok list`, as lines. */
export function renderList(report: ListReport, offline: boolean, table: TableOptions): string[] {
  const lines: string[] = []
  if (report.sessions.length === 0) lines.push('No sessions. Create one with "mxtok create NAME --user @you:example.com".')
  else {
    const onServer = (v: boolean | null) => (v === null ? (offline ? '-' : 'unknown') : v ? 'yes' : 'NO')
    const rows = sortNatural(report.sessions, (s) => s.name).map((s) => [s.name, s.userId, s.deviceId, onServer(s.onServer), dash(s.lastSeenIp), formatTs(s.lastSeenTs), s.homeserver])
    for (const line of renderTable(['NAME', 'USER', 'DEVICE', 'ON SERVER', 'LAST SEEN IP', 'LAST SEEN (UTC)', 'HOMESERVER'], rows, table)) lines.push(line)
  }
  if (report.devices.length > 0) {
    const rows = sortNatural(report.devices, (d) => `${d.userId} ${d.deviceId}`).map((d) => [d.userId, d.deviceId, dash(d.displayName), dash(d.lastSeenIp), formatTs(d.lastSeenTs), d.orphan ? 'orphan: no local session' : '', d.homeserver])
    lines.push('', 'Other devices of these accounts:')
    for (const line of renderTable(['USER', 'DEVICE', 'DISPLAY NAME', 'LAST SEEN IP', 'LAST SEEN (UTC)', 'NOTE', 'HOMESERVER'], rows, table)) lines.push(line)
  }
  return lines
}

export const listJson = (report: ListReport) => ({sessions: report.sessions, devices: report.devices})
