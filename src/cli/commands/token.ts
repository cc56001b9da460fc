import {declare} from '../declaration.js'
import {vaultFlag} from '../shared-flags.js'

export const token = declare({
  id: 'token',
  summary: "Print a session's access token (and nothing else) on standard output",
  description:
    "The only command that prints a token: for $(mxtok token NAME) and for pasting into a bot or bridge config. An OAuth session's access token is refreshed first when it expires within a minute.",
  examples: ['<%= config.bin %> token bot', 'MATRIX_TOKEN="$(<%= config.bin %> token bot)" ./start-bot'],
  json: false,
  args: {
    name: {description: 'session name', required: true, session: true},
  },
  flags: {
    vault: vaultFlag,
  },
})
