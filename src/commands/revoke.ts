import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {revoke} from '../cli/actions/revoke.js'
import {BaseCommand} from '../cli/base-command.js'

export default class Revoke extends BaseCommand {
  static summary = "Log a session's token out on the server, then forget it"
  static description =
    "POST /logout kills the token and deletes its device; an OAuth session's tokens are revoked at its sign-in service (RFC 7009) instead. A token the server proves dead (its whoami refuses it too) counts as revoked. If the server cannot be reached, answers an error, or cannot end this kind of token (a personal or OAuth token of a Matrix Authentication Service, at /logout), nothing local is removed: exit 4 says what to do instead."
  static examples = ['<%= config.bin %> revoke bot', '<%= config.bin %> revoke old-bot --local-only']

  static args = {
    name: Args.string({description: 'session name', required: true, ignoreStdin: true}),
  }

  static flags = {
    'local-only': Flags.boolean({description: 'forget the session here without telling the server (the token may keep working)'}),
  }

  async run(): Promise<void> {
    const input = await this.parse(Revoke)
    await this.act(input.flags, (io) => revoke(input, io))
  }
}
