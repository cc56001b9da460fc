import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {allowHttpFlag, storeFlag} from '../cli/shared-flags.js'
import {readTokenInput} from '../cli/token-input.js'
import {importSession} from '../core/import-session.js'
import {storeLabel, type StoreKind} from '../store/secret-store.js'
import type {CreateJson} from './create.js'

export type ImportJson = CreateJson

export default class Import extends BaseCommand {
  static summary = 'Keep a token obtained elsewhere (Element, a curl login) as a named session'
  static description = `The token comes from the first line of standard input with --token-stdin, else from a prompt that does not echo. GET /account/whoami says whose token it is and which device it belongs to; from then on list, verify, token, exec, rename and revoke work on it. Re-importing an existing NAME replaces it; if the old session was on another device, that device is logged out.`
  static examples = [
    'printf \'%s\\n\' "$TOKEN" | <%= config.bin %> import bot --token-stdin --user @bot:example.com',
    '<%= config.bin %> import element --homeserver https://matrix.example.com   # paste the token from Element\'s Help & About',
  ]

  static args = {
    name: Args.string({description: 'session name: 1-64 letters, digits, ".", "_" or "-"', required: true, ignoreStdin: true}),
  }

  static flags = {
    'token-stdin': Flags.boolean({description: 'read the token from the first line of standard input'}),
    homeserver: Flags.string({description: 'homeserver base URL; default: discovered from --user\'s server'}),
    user: Flags.string({char: 'u', description: 'the Matrix ID the token must belong to (@alice:example.com)'}),
    'allow-http': allowHttpFlag,
    store: storeFlag,
  }

  async run(): Promise<ImportJson> {
    const {args, flags} = await this.parse(Import)
    const s = await importSession(
      {
        name: args.name,
        token: () => readTokenInput({tokenStdin: flags['token-stdin'], stdin: process.stdin, stderr: process.stderr, prompt: `Access token for "${args.name}": `}),
        homeserver: flags.homeserver,
        user: flags.user,
        allowHttp: flags['allow-http'],
        store: flags.store as StoreKind,
      },
      this.makeDeps(),
    )
    this.log(`Imported session "${s.name}" (token stored in the ${storeLabel(s.store)})`)
    this.log(`  user        ${s.userId}`)
    this.log(`  device      ${s.deviceId}`)
    this.log(`  homeserver  ${s.homeserver}`)
    return {name: s.name, userId: s.userId, deviceId: s.deviceId, homeserver: s.homeserver, createdAt: s.createdAt}
  }
}
