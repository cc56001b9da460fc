import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {importToken} from '../cli/actions/import.js'
import {BaseCommand} from '../cli/base-command.js'
import {allowHttpFlag, storeFlag} from '../cli/shared-flags.js'

export type {ImportJson} from '../cli/actions/import.js'

export default class Import extends BaseCommand {
  static summary = 'Keep a token obtained elsewhere (Element, a curl login) as a named session'
  static description =
    `The token comes from the first line of standard input with --token-stdin, else from a prompt that does not echo. GET /account/whoami says whose token it is and which device it belongs to; from then on list, verify, token, exec, rename and revoke work on it. Re-importing an existing NAME replaces it; if the old session was on another device, that device is logged out.`
  static examples = [
    'printf \'%s\\n\' "$TOKEN" | <%= config.bin %> import bot --token-stdin --user @bot:example.com',
    "<%= config.bin %> import element --homeserver https://matrix.example.com   # paste the token from Element's Help & About",
  ]

  static args = {
    name: Args.string({description: 'session name: 1-64 letters, digits, ".", "_" or "-"', required: true, ignoreStdin: true}),
  }

  static flags = {
    'token-stdin': Flags.boolean({description: 'read the token from the first line of standard input'}),
    homeserver: Flags.string({description: "homeserver base URL; default: discovered from --user's server"}),
    user: Flags.string({char: 'u', description: 'the Matrix ID the token must belong to (@alice:example.com)'}),
    'allow-http': allowHttpFlag,
    store: storeFlag,
  }

  async run(): Promise<void> {
    const input = await this.parse(Import)
    await this.act(input.flags, (io) => importToken(input, io))
  }
}
