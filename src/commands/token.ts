import * as Args from '@oclif/core/args'
import {token} from '../cli/actions/token.js'
import {BaseCommand} from '../cli/base-command.js'

export default class Token extends BaseCommand {
  static summary = "Print a session's access token (and nothing else) on standard output"
  static description =
    "The only command that prints a token: for $(mxtok token NAME) and for pasting into a bot or bridge config. An OAuth session's access token is refreshed first when it expires within a minute."
  static examples = ['<%= config.bin %> token bot', 'MATRIX_TOKEN="$(<%= config.bin %> token bot)" ./start-bot']
  static enableJsonFlag = false

  static args = {
    name: Args.string({description: 'session name', required: true, ignoreStdin: true}),
  }

  async run(): Promise<void> {
    const input = await this.parse(Token)
    await this.act(input.flags, (io) => token(input, io))
  }
}
