import {declare, flag} from '../declaration.js'
import {allowHttpFlag, vaultFlag} from '../shared-flags.js'

export const rotate = declare({
  id: 'rotate',
  summary: 'Give a session a fresh token and end the old one',
  description: `Each kind of session the way its server allows, keeping the device where it can. An OAuth session is refreshed: its device stays, and the sign-in service ends the old access token. A session made with a password is logged in to again on the same device, with the password asked as create asks it: the device is logged out first, which deletes it with its end-to-end encryption keys (an encrypted bot loses them), so rotate says so and asks on a terminal, or needs --yes. An admin login (create --as on Synapse) is made again with the admin's session and the old token logged out; a personal token of a Matrix Authentication Service (create --as there) is regenerated through MAS's admin API by the admin who made it, keeping its device, MAS ending the old token. --expires sets the new token's lifetime as create's does. Journalled like every login: a run killed half-way leaves what "mxtok doctor" finds.`,
  examples: [
    '<%= config.bin %> rotate bot',
    'printf \'%s\\n\' "$BOT_PASSWORD" | <%= config.bin %> rotate bot --yes --password-stdin --json',
    '<%= config.bin %> rotate bridge --expires 90d   # an admin login, made again',
  ],
  json: true,
  args: {
    name: {description: 'session name', required: true, session: true},
  },
  flags: {
    yes: flag.boolean({char: 'y', description: "replace a password session's device without asking (needed when standard input is not a terminal)"}),
    'password-stdin': flag.boolean({description: 'read the password from the first line of standard input'}),
    as: flag.string({
      description:
        'an admin login or personal token: the admin session that makes it again [default: for an admin login the one local session of the admin who made it, for a personal token the session that made it]',
    }),
    expires: flag.string({description: 'an admin login or personal token: how long the new token lives, e.g. 12h, 30d, 2w, or "never" [default: 30d]'}),
    'allow-http': allowHttpFlag,
    vault: vaultFlag,
  },
})
