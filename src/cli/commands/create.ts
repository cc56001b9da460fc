import {declare, flag} from '../declaration.js'
import {allowHttpFlag, storeFlag, vaultFlag} from '../shared-flags.js'

export const create = declare({
  id: 'create',
  summary: 'Log in and keep the token as a named session in the OS keychain',
  description: `Logs in with a device ID derived from the user and NAME, so re-creating a session reuses its device. After a password login, the new token is the only valid token on that device. The password comes from --password-stdin, else MXTOK_PASSWORD, else a hidden prompt. A homeserver with next-generation auth and no password login (or --oauth) is signed in to through a browser instead: create shows a URL and a code to approve (on stderr), and keeps a refresh token so that the session outlives its short-lived access tokens.`,
  examples: [
    'printf %s "$BOT_PASSWORD" | <%= config.bin %> create bot --user @bot:example.com --password-stdin',
    '<%= config.bin %> create bridge --user bridgebot --homeserver https://matrix.example.com',
    '<%= config.bin %> create bot --user @bot:example.com --oauth   # approve the login in a browser',
    "<%= config.bin %> create bot --user @bot:example.com --as admin --expires 90d   # no password: a server admin's login",
  ],
  json: true,
  args: {
    // A new name: completion does not offer the existing ones, which would invite overwriting one.
    name: {description: 'session name: 1-64 letters, digits, ".", "_" or "-"', required: true},
  },
  flags: {
    user: flag.string({char: 'u', description: 'full Matrix ID (@alice:example.com), or a localpart with --homeserver', required: true}),
    homeserver: flag.string({description: "homeserver base URL; default: discovered from the user ID's server"}),
    'device-name': flag.string({description: 'display name of a new device [default: mxtok: NAME]'}),
    'device-id': flag.string({description: 'use this device ID instead of the derived one'}),
    'password-stdin': flag.boolean({description: 'read the password from the first line of standard input', exclusive: ['oauth', 'as']}),
    oauth: flag.boolean({description: 'sign in through a browser with next-generation auth (OAuth 2.0), even where the server accepts passwords'}),
    as: flag.string({
      description: 'log in as --user with this session of a Synapse server admin (admin API): no password, no device, an expiry',
      exclusive: ['oauth', 'homeserver', 'device-id', 'device-name'],
    }),
    expires: flag.string({description: 'with --as: how long the token lives, e.g. 12h, 30d, 2w, or "never" [default: 30d]', dependsOn: ['as']}),
    'allow-http': allowHttpFlag,
    store: storeFlag,
    vault: vaultFlag,
  },
})
