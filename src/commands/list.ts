import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {listSessions, type ListReport} from '../core/list-sessions.js'
import {dash, formatTs, renderTable, wantsPrettyOutput} from '../output/table.js'

export type ListJson = Omit<ListReport, 'problems'>

export default class List extends BaseCommand {
  static summary = 'Show the sessions beside their accounts\' devices on the server'
  static description = 'One GET /devices per account, accounts in parallel. Devices named MXTOK… that no local session owns are flagged as orphans.'
  static examples = ['<%= config.bin %> list', '<%= config.bin %> list --offline --json']

  static flags = {
    offline: Flags.boolean({description: 'do not contact any server'}),
  }

  async run(): Promise<ListJson> {
    const {flags} = await this.parse(List)
    const report = await listSessions({offline: flags.offline}, this.makeDeps())
    for (const problem of report.problems) this.warnLine(problem)
    if (!this.jsonEnabled()) await this.render(report, flags.offline)
    return {sessions: report.sessions, devices: report.devices}
  }

  private async render(report: ListReport, offline: boolean): Promise<void> {
    const pretty = wantsPrettyOutput()
    if (report.sessions.length === 0) this.log('No sessions. Create one with "mxtok create NAME --user @you:example.com".')
    else {
      const onServer = (v: boolean | null) => (v === null ? (offline ? '-' : 'unknown') : v ? 'yes' : 'NO')
      const rows = report.sessions.map((s) => [s.name, s.userId, s.deviceId, onServer(s.onServer), dash(s.lastSeenIp), formatTs(s.lastSeenTs), s.homeserver])
      this.log(await renderTable(['NAME', 'USER', 'DEVICE', 'ON SERVER', 'LAST SEEN IP', 'LAST SEEN (UTC)', 'HOMESERVER'], rows, pretty))
    }
    if (report.devices.length > 0) {
      const rows = report.devices.map((d) => [d.userId, d.deviceId, dash(d.displayName), dash(d.lastSeenIp), formatTs(d.lastSeenTs), d.orphan ? 'orphan: no local session' : ''])
      this.log('')
      this.log('Other devices of these accounts:')
      this.log(await renderTable(['USER', 'DEVICE', 'DISPLAY NAME', 'LAST SEEN IP', 'LAST SEEN (UTC)', 'NOTE'], rows, pretty))
    }
  }
}
