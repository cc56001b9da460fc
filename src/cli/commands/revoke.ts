import {declare, flag} from '../declaration.js'
import {vaultFlag} from '../shared-flags.js'

export const revoke = declare({
  id: 'revoke',
  summary: "Log a session's token out on the server, then forget it",
  description:
    "POST /logout kills the token and deletes its device; an OAuth session's tokens are revoked at its sign-in service (RFC 7009) instead. A token the server proves dead (its whoami refuses it too) counts as revoked. If the server cannot be reached, answers an error, or cannot end this kind of token (a personal or OAuth token of a Matrix Authentication Service, at /logout), nothing local is removed: exit 4 says what to do instead.",
  examples: ['<%= config.bin %> revoke bot', '<%= config.bin %> revoke old-bot --local-only'],
  json: true,
  args: {
    name: {description: 'session name', required: true, session: true},
  },
  flags: {
    'local-only': flag.boolean({description: 'forget the session here without telling the server (the token may keep working)'}),
    vault: vaultFlag,
  },
})
