import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {move} from '../cli/actions/move.js'
import {BaseCommand} from '../cli/base-command.js'
import {STORE_KINDS} from '../store/store-kinds.js'

export default class Move extends BaseCommand {
  static summary = "Move a session's token to another secret store"
  static description = 'The token is written and read back in the target store before it is removed from the old one, so it is never in neither.'
  static examples = ['MXTOK_PASSPHRASE=… <%= config.bin %> move bot --to file', '<%= config.bin %> move bot --to keychain']

  static args = {
    name: Args.string({description: 'session name', required: true, ignoreStdin: true}),
  }

  static flags = {
    to: Flags.string({description: 'the store to move the token to', options: [...STORE_KINDS], required: true}),
  }

  async run(): Promise<void> {
    const input = await this.parse(Move)
    await this.act(input.flags, (io) => move(input, io))
  }
}
