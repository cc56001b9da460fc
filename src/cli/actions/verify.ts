import {verifySessions, type VerifyResult} from '../../core/verify-sessions.js'
import {usageError} from '../../errors.js'
import {sortNatural} from '../../output/natural-order.js'
import {prometheusLines} from '../../output/prometheus.js'
import {renderTable} from '../../output/table.js'
import type {Io} from '../io.js'

export interface VerifyInput {
  argv: string[]
  flags?: {format?: string}
}

export async function verify({argv, flags}: VerifyInput, io: Io): Promise<VerifyResult[]> {
  const prometheus = flags?.format === 'prometheus'
  if (prometheus && io.json) throw usageError('--format prometheus and --json cannot be used together')
  const homeservers = new Map<string, string>()
  const report = await verifySessions(argv, io.deps(), {
    expiry: prometheus,
    onStart: (sessions) => {
      for (const s of sessions) homeservers.set(s.name, s.homeserver)
    },
  })
  if (prometheus) io.log(prometheusLines(report.results.map((result) => ({result, homeserver: homeservers.get(result.name)!}))))
  else if (!io.json) {
    if (report.results.length === 0) io.log('No sessions to verify.')
    else {
      const rows = sortNatural(report.results, (r) => r.name).map((r) => [r.name, r.status, r.userId, r.deviceId, r.error ?? ''])
      io.log(renderTable(['NAME', 'STATUS', 'USER', 'DEVICE', 'DETAIL'], rows, io))
    }
  }
  process.exitCode = report.exitCode
  return report.results
}
