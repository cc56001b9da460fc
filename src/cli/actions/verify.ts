import {parseDuration} from '../../core/duration.js'
import {type VerifyResult, verifySessions} from '../../core/verify-sessions.js'
import {usageError} from '../../errors.js'
import {userCell} from '../../output/list-view.js'
import {sortNatural} from '../../output/natural-order.js'
import {prometheusLines} from '../../output/prometheus.js'
import {formatTs, renderTable, type TableLayout, tableLayout} from '../../output/table.js'
import {masAdminFields, type Session, tokenOwner} from '../../registry/session.js'
import type {verify as command} from '../commands/verify.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {type LiveProgress, liveProgress} from '../live/progress.js'
import type {Outcome} from '../outcome.js'
import {requestTimeoutMs} from '../timeouts.js'

const HEAD = ['NAME', 'STATUS', 'USER', 'DEVICE', 'DETAIL']
const row = (r: VerifyResult) => [
  r.name,
  r.status,
  userCell(r),
  r.deviceId ?? 'none',
  r.error ?? (r.expiresAt === undefined ? '' : `expires ${formatTs(Date.parse(r.expiresAt))}`),
]

export async function verify(
  {argv, flags}: Pick<Input<typeof command>, 'argv'> & Partial<Pick<Input<typeof command>, 'flags'>>,
  io: Io,
): Promise<Outcome<VerifyResult[]>> {
  const prometheus = flags?.format === 'prometheus'
  const within = flags?.['expiring-within']
  const expiringWithinMs = within === undefined ? undefined : parseDuration(within, '--expiring-within')
  if (prometheus && io.json) throw usageError('--format prometheus and --json cannot be used together')
  const homeservers = new Map<string, string>()
  const deps = io.deps()
  // On a terminal, each row as soon as its session is checked, and a status line for the rest.
  let live: {progress: LiveProgress; layout: TableLayout} | undefined
  const startLive = (sessions: readonly Session[]) => {
    if (!io.live || prometheus || sessions.length === 0) return
    // The widths come from what is known before any answer; DETAIL gets the room left.
    const layout = tableLayout(
      HEAD,
      sessions.map((s) => row({name: s.name, status: 'unreachable', ...tokenOwner(s), ...masAdminFields(s)})),
      {pretty: io.pretty, width: io.width, fill: 4},
    )
    const progress = liveProgress(sessions, {
      stderr: io.stderr,
      columns: io.live.columns,
      now: Date.now,
      timeoutMs: requestTimeoutMs(io.env),
      inFlight: io.inFlight,
      verb: 'checking',
    })
    live = {progress, layout}
    progress.print(() => io.log(layout.top))
  }
  let report
  try {
    report = await verifySessions(argv, deps, {
      expiry: prometheus,
      expiringWithinMs,
      onStart: (sessions) => {
        for (const s of sessions) homeservers.set(s.name, s.homeserver)
        startLive(sessions)
      },
      onResult: (result) => {
        if (!live) return
        const {progress, layout} = live
        progress.print(() => io.log(layout.row(row(result))))
        progress.done(result.name)
      },
    })
  } finally {
    live?.progress.end()
  }
  if (live) io.log(live.layout.bottom)
  else if (prometheus) io.log(prometheusLines(report.results.map((result) => ({result, homeserver: homeservers.get(result.name)!}))))
  else if (!io.json) {
    if (report.results.length === 0) io.log('No sessions to verify.')
    else io.log(renderTable(HEAD, sortNatural(report.results, (r) => r.name).map(row), io))
  }
  return {result: report.results, exitCode: report.exitCode}
}
