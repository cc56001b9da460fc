import {declare, flag} from '../declaration.js'
import {allowHttpFlag, storeFlag, vaultFlag} from '../shared-flags.js'

export const importCommand = declare({
  id: 'import',
  summary: 'Keep a token obtained elsewhere (Element, a curl login) as a named session',
  description: `The token comes from the first line of standard input with --token-stdin, else from a prompt that does not echo. GET /account/whoami says whose token it is and which device it belongs to; from then on list, verify, token, exec, rename and revoke work on it. Re-importing an existing NAME replaces it; if the old session was on another device, that device is logged out.`,
  examples: [
    'printf \'%s\\n\' "$TOKEN" | <%= config.bin %> import bot --token-stdin --user @bot:example.com',
    "<%= config.bin %> import element --homeserver https://matrix.example.com   # paste the token from Element's Help & About",
  ],
  json: true,
  args: {
    // A new name, as for create.
    name: {description: 'session name: 1-64 letters, digits, ".", "_" or "-"', required: true},
  },
  flags: {
    'token-stdin': flag.boolean({description: 'read the token from the first line of standard input'}),
    homeserver: flag.string({description: "homeserver base URL; default: discovered from --user's server"}),
    user: flag.string({char: 'u', description: 'the Matrix ID the token must belong to (@alice:example.com)'}),
    'allow-http': allowHttpFlag,
    store: storeFlag,
    vault: vaultFlag,
  },
})
