import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {create} from '../cli/actions/create.js'
import {BaseCommand} from '../cli/base-command.js'
import {allowHttpFlag, storeFlag} from '../cli/shared-flags.js'

export type {CreateJson} from '../cli/actions/create.js'

export default class Create extends BaseCommand {
  static summary = 'Log in and keep the token as a named session in the OS keychain'
  static description =
    `Logs in with a device ID derived from the user and NAME, so re-creating a session reuses its device. After a password login, the new token is the only valid token on that device. The password comes from --password-stdin, else MXTOK_PASSWORD, else a hidden prompt. A homeserver with next-generation auth and no password login (or --oauth) is signed in to through a browser instead: create shows a URL and a code to approve (on stderr), and keeps a refresh token so that the session outlives its short-lived access tokens.`
  static examples = [
    'printf %s "$BOT_PASSWORD" | <%= config.bin %> create bot --user @bot:example.com --password-stdin',
    '<%= config.bin %> create bridge --user bridgebot --homeserver https://matrix.example.com',
    '<%= config.bin %> create bot --user @bot:example.com --oauth   # approve the login in a browser',
    "<%= config.bin %> create bot --user @bot:example.com --as admin --expires 90d   # no password: a server admin's login",
  ]

  static args = {
    name: Args.string({description: 'session name: 1-64 letters, digits, ".", "_" or "-"', required: true, ignoreStdin: true}),
  }

  static flags = {
    user: Flags.string({char: 'u', description: 'full Matrix ID (@alice:example.com), or a localpart with --homeserver', required: true}),
    homeserver: Flags.string({description: "homeserver base URL; default: discovered from the user ID's server"}),
    'device-name': Flags.string({description: 'display name of a new device [default: mxtok: NAME]'}),
    'device-id': Flags.string({description: 'use this device ID instead of the derived one'}),
    'password-stdin': Flags.boolean({description: 'read the password from the first line of standard input', exclusive: ['oauth', 'as']}),
    oauth: Flags.boolean({description: 'sign in through a browser with next-generation auth (OAuth 2.0), even where the server accepts passwords'}),
    as: Flags.string({
      description: 'log in as --user with this session of a Synapse server admin (admin API): no password, no device, an expiry',
      exclusive: ['oauth', 'homeserver', 'device-id', 'device-name'],
    }),
    expires: Flags.string({description: 'with --as: how long the token lives, e.g. 12h, 30d, 2w, or "never" [default: 30d]', dependsOn: ['as']}),
    'allow-http': allowHttpFlag,
    store: storeFlag,
  }

  async run(): Promise<void> {
    const input = await this.parse(Create)
    await this.act(input.flags, (io) => create(input, io))
  }
}
