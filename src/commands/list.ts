import * as Flags from '@oclif/core/flags'
import {list} from '../cli/actions/list.js'
import {BaseCommand} from '../cli/base-command.js'

export type {ListJson} from '../cli/actions/list.js'

export default class List extends BaseCommand {
  static summary = "Show the sessions beside their accounts' devices on the server"
  static description = 'One GET /devices per account, accounts in parallel. Devices named MXTOK… that no local session owns are flagged as orphans.'
  static examples = ['<%= config.bin %> list', '<%= config.bin %> list --offline --json']

  static flags = {
    offline: Flags.boolean({description: 'do not contact any server'}),
  }

  async run(): Promise<void> {
    const input = await this.parse(List)
    await this.act(input.flags, (io) => list(input, io))
  }
}
