import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {listSessions} from '../core/list-sessions.js'
import {listJson, renderList} from '../output/list-view.js'
import {wantsPrettyOutput} from '../output/table.js'

export type ListJson = ReturnType<typeof listJson>

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
    if (!this.jsonEnabled()) this.log(await renderList(report, flags.offline, wantsPrettyOutput()))
    return listJson(report)
  }
}
