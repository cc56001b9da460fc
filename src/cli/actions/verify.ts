import {verifySessions, type VerifyResult} from '../../core/verify-sessions.js'
import {sortNatural} from '../../output/natural-order.js'
import {renderTable} from '../../output/table.js'
import type {Io} from '../io.js'

export async function verify({argv}: {argv: string[]}, io: Io): Promise<VerifyResult[]> {
  const report = await verifySessions(argv, io.deps())
  if (!io.json) {
    if (report.results.length === 0) io.log('No sessions to verify.')
    else {
      const rows = sortNatural(report.results, (r) => r.name).map((r) => [r.name, r.status, r.userId, r.deviceId, r.error ?? ''])
      io.log(renderTable(['NAME', 'STATUS', 'USER', 'DEVICE', 'DETAIL'], rows, io))
    }
  }
  process.exitCode = report.exitCode
  return report.results
}
