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
    "<%= config.bin %> create bot --user @bot:example.com --as admin --expires 90d   # no password: a server admin's login, or MAS's personal token",
    '<%= config.bin %> create root --user @admin:example.com --oauth --admin   # an admin user of MAS: its admin API too',
    'printf %s "$MAS_CLIENT_SECRET" | <%= config.bin %> create ops --homeserver https://matrix.example.com --client-id 01J44QC8BCY7FCFM7WGHQGKMTJ --client-secret-stdin',
  ],
  json: true,
  args: {
    // A new name: completion does not offer the existing ones, which would invite overwriting one.
    name: {description: 'session name: 1-64 letters, digits, ".", "_" or "-"', required: true},
  },
  flags: {
    // Required unless --client-id is given: the action says so, as the declaration cannot.
    user: flag.string({char: 'u', description: 'full Matrix ID (@alice:example.com), or a localpart with --homeserver; required unless --client-id'}),
    homeserver: flag.string({description: "homeserver base URL; default: discovered from the user ID's server"}),
    'device-name': flag.string({description: 'display name of a new device [default: mxtok: NAME]'}),
    'device-id': flag.string({description: 'use this device ID instead of the derived one'}),
    'password-stdin': flag.boolean({description: 'read the password from the first line of standard input', exclusive: ['oauth', 'as']}),
    oauth: flag.boolean({description: 'sign in through a browser with next-generation auth (OAuth 2.0), even where the server accepts passwords'}),
    admin: flag.boolean({
      description: "with --oauth: ask for the admin API of the server's Matrix Authentication Service too (urn:mas:admin), for a session to use with --as",
      dependsOn: ['oauth'],
    }),
    as: flag.string({
      description:
        "make a token for --user with this admin session, no password: a Synapse admin's login (no device), or behind a Matrix Authentication Service a personal token on the session's device; with an expiry",
      exclusive: ['oauth', 'homeserver', 'device-id', 'device-name'],
    }),
    expires: flag.string({description: 'with --as: how long the token lives, e.g. 12h, 30d, 2w, or "never" [default: 30d]', dependsOn: ['as']}),
    'client-id': flag.string({
      description:
        "with --homeserver: a session of this admin client of the server's Matrix Authentication Service (client credentials, urn:mas:admin), no user, no device",
      exclusive: ['user', 'oauth', 'admin', 'as', 'expires', 'password-stdin', 'device-id', 'device-name'],
    }),
    'client-secret-stdin': flag.boolean({
      description: "with --client-id: read the client's secret from the first line of standard input",
      dependsOn: ['client-id'],
    }),
    'allow-http': allowHttpFlag,
    store: storeFlag,
    vault: vaultFlag,
  },
})
