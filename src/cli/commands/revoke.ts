import {declare, flag} from '../declaration.js'

export const revoke = declare({
  id: 'revoke',
  summary: "Log a session's token out on the server, then forget it",
  description:
    "POST /logout kills the token and deletes its device; an OAuth session's tokens are revoked at its sign-in service (RFC 7009) instead. A token that is already dead counts as revoked. If the server cannot be reached or answers an error, nothing local is removed.",
  examples: ['<%= config.bin %> revoke bot', '<%= config.bin %> revoke old-bot --local-only'],
  json: true,
  args: {
    name: {description: 'session name', required: true, session: true},
  },
  flags: {
    'local-only': flag.boolean({description: 'forget the session here without telling the server (the token may keep working)'}),
  },
})
