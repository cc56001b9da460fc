import type {VerifyResult} from '../core/verify-sessions.js'
import {sortNatural} from './natural-order.js'

/** A label value as the exposition format wants it: backslash, double quote and line feed escaped. */
const label = (value: string) => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

/**
 * verify's results in Prometheus's text format, for node_exporter's textfile collector: one gauge
 * per session saying whether its token works, and when its access token expires where that is known.
 */
export function prometheusLines(checked: readonly {result: VerifyResult; homeserver: string}[]): string[] {
  const rows = sortNatural(checked, (c) => c.result.name)
  const labels = (c: (typeof rows)[number]) => `{name="${label(c.result.name)}",user="${label(c.result.userId ?? '')}",homeserver="${label(c.homeserver)}"}`
  const lines = [
    "# HELP mxtok_session_valid Whether the session's token works (GET /account/whoami): 1 valid; 0 revoked, of another device, or not checked (server unreachable, store failing).",
    '# TYPE mxtok_session_valid gauge',
    ...rows.map((c) => `mxtok_session_valid${labels(c)} ${c.result.status === 'valid' || c.result.status === 'expiring' ? 1 : 0}`),
  ]
  const expiring = rows.filter((c) => c.result.expiresAt !== undefined)
  if (expiring.length > 0) {
    lines.push(
      "# HELP mxtok_session_expiry_timestamp_seconds When the session's token expires: an admin login's for good; an OAuth session's stored access token, which mxtok refreshes when used.",
      '# TYPE mxtok_session_expiry_timestamp_seconds gauge',
      ...expiring.map((c) => `mxtok_session_expiry_timestamp_seconds${labels(c)} ${Math.floor(Date.parse(c.result.expiresAt!) / 1000)}`),
    )
  }
  return lines
}
