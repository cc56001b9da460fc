import type {ListReport} from '../core/list-sessions.js'
import {dash, formatTs, renderTable} from './table.js'

/** The human view of `mxtok list`. */
export async function renderList(report: ListReport, offline: boolean, pretty: boolean): Promise<string> {
  const parts: string[] = []
  if (report.sessions.length === 0) parts.push('No sessions. Create one with "mxtok create NAME --user @you:example.com".')
  else {
    const onServer = (v: boolean | null) => (v === null ? (offline ? '-' : 'unknown') : v ? 'yes' : 'NO')
    const rows = report.sessions.map((s) => [s.name, s.userId, s.deviceId, onServer(s.onServer), dash(s.lastSeenIp), formatTs(s.lastSeenTs), s.homeserver])
    parts.push(await renderTable(['NAME', 'USER', 'DEVICE', 'ON SERVER', 'LAST SEEN IP', 'LAST SEEN (UTC)', 'HOMESERVER'], rows, pretty))
  }
  if (report.devices.length > 0) {
    const rows = report.devices.map((d) => [d.userId, d.deviceId, dash(d.displayName), dash(d.lastSeenIp), formatTs(d.lastSeenTs), d.orphan ? 'orphan: no local session' : ''])
    parts.push('', 'Other devices of these accounts:')
    parts.push(await renderTable(['USER', 'DEVICE', 'DISPLAY NAME', 'LAST SEEN IP', 'LAST SEEN (UTC)', 'NOTE'], rows, pretty))
  }
  return parts.join('\n')
}

export const listJson = (report: ListReport) => ({sessions: report.sessions, devices: report.devices})
