import {runDoctor, type DoctorReport} from '../../core/doctor.js'
import {ExitCode} from '../../errors.js'
import {storeLabel, type StoreKind} from '../../store/secret-store.js'
import type {Io} from '../io.js'

export async function doctor({flags}: {flags: {store: string; fix?: boolean}}, io: Io): Promise<DoctorReport> {
  const report = await runDoctor({configuredStore: flags.store as StoreKind, fix: flags.fix === true}, io.deps())
  const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL')
  io.log(`registry     ${report.registry} (${report.sessions} session${report.sessions === 1 ? '' : 's'})`)
  for (const s of report.stores) {
    const configured = s.store === report.configuredStore ? ' (configured)' : ''
    io.log(`${mark(s.ok)} store ${s.store}: ${storeLabel(s.store)}${configured}${s.problem ? ` — ${s.problem}` : ''}`)
  }
  for (const h of report.homeservers) io.log(`${mark(h.ok)} homeserver ${h.homeserver} (${h.sessions} session${h.sessions === 1 ? '' : 's'})${h.problem ? ` — ${h.problem}` : ''}`)
  for (const o of report.orphans) {
    const what =
      o.kind === 'token'
        ? `orphan token of ${o.userId} device ${o.deviceId} in the ${storeLabel(o.store)}, held by no session`
        : o.issuer
          ? `interrupted sign-in of ${o.userId} device ${o.deviceId}: if it was approved, that session may still be live; end it in the list of sessions of your account at ${o.issuer}`
          : o.advice
            ? `create of session "${o.name}" was interrupted: device ${o.deviceId} of ${o.userId} may hold a token nobody has${o.sessionExists ? ', and the stored token may be dead' : ''}; run "${o.advice}" again, which leaves only the new token on the device (then "mxtok revoke ${o.name}" if the session is not wanted)`
            : `interrupted login of ${o.userId} device ${o.deviceId}: the device may hold a token nobody has; "mxtok prune --user ${o.userId} --orphans" deletes it`
    io.log(`${o.fixed ? 'fixed' : 'WARN'} ${what}${o.kind === 'token' && !o.fixed ? '; "mxtok doctor --fix" logs it out and removes it' : ''}`)
  }
  if (!report.ok) process.exitCode = ExitCode.keychain
  return report
}
