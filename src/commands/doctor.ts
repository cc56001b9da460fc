import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {runDoctor, type DoctorReport} from '../core/doctor.js'
import {ExitCode} from '../errors.js'
import {STORE_KINDS, storeLabel, type StoreKind} from '../store/secret-store.js'

export default class Doctor extends BaseCommand {
  static summary = 'Check which secret stores work here, where the registry is, and whether the homeservers answer'
  static description = 'Exit 0 when the configured store (--store, MXTOK_STORE, default keychain) works; 6 when it does not.'
  static examples = ['<%= config.bin %> doctor', 'MXTOK_STORE=file <%= config.bin %> doctor --json', '<%= config.bin %> doctor --fix']

  static flags = {
    store: Flags.string({description: 'the store to require', options: [...STORE_KINDS], env: 'MXTOK_STORE', default: 'keychain'}),
    fix: Flags.boolean({description: 'log out and remove orphan tokens left by an interrupted run'}),
  }

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    const report = await runDoctor({configuredStore: flags.store as StoreKind, fix: flags.fix}, this.makeDeps())
    const mark = (ok: boolean) => (ok ? 'ok  ' : 'FAIL')
    this.log(`registry     ${report.registry} (${report.sessions} session${report.sessions === 1 ? '' : 's'})`)
    for (const s of report.stores) {
      const configured = s.store === report.configuredStore ? ' (configured)' : ''
      this.log(`${mark(s.ok)} store ${s.store}: ${storeLabel(s.store)}${configured}${s.problem ? ` — ${s.problem}` : ''}`)
    }
    for (const h of report.homeservers) this.log(`${mark(h.ok)} homeserver ${h.homeserver} (${h.sessions} session${h.sessions === 1 ? '' : 's'})${h.problem ? ` — ${h.problem}` : ''}`)
    for (const o of report.orphans) {
      const what =
        o.kind === 'token'
          ? `orphan token of ${o.userId} device ${o.deviceId} in the ${storeLabel(o.store)}, held by no session`
          : `interrupted login of ${o.userId} device ${o.deviceId}: the device may hold a token nobody has; "mxtok prune --user ${o.userId} --orphans" deletes it`
      this.log(`${o.fixed ? 'fixed' : 'WARN'} ${what}${o.kind === 'token' && !o.fixed ? '; "mxtok doctor --fix" logs it out and removes it' : ''}`)
    }
    if (!report.ok) process.exitCode = ExitCode.keychain
    return report
  }
}
