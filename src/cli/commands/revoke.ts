import {declare, flag} from '../declaration.js'
import {vaultFlag} from '../shared-flags.js'

export const revoke = declare({
  id: 'revoke',
  summary: "Log a session's token out on the server, then forget it",
  description:
    "POST /logout kills the token and deletes its device; an OAuth session's tokens are revoked at its sign-in service (RFC 7009) instead. A token the server proves dead (its whoami refuses it too) counts as revoked. A personal token of a Matrix Authentication Service (create --as there, or an imported mpt_ token) is revoked through MAS's admin API, with the admin session that made it or --as. If the server cannot be reached, answers an error, or cannot end this kind of token (a personal token without an admin session, an OAuth token of MAS at /logout), nothing local is removed: exit 4 says what to do instead.",
  examples: [
    '<%= config.bin %> revoke bot',
    '<%= config.bin %> revoke ci-token --as mas-admin   # an imported personal token of MAS',
    '<%= config.bin %> revoke old-bot --local-only',
  ],
  json: true,
  args: {
    name: {description: 'session name', required: true, session: true},
  },
  flags: {
    'local-only': flag.boolean({description: 'forget the session here without telling the server (the token may keep working)', exclusive: ['as']}),
    as: flag.string({
      description:
        "a personal token of a Matrix Authentication Service: revoke it through MAS's admin API with this admin session [default: the session that made it]",
    }),
    vault: vaultFlag,
  },
})
