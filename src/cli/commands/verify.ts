import {declare, flag} from '../declaration.js'
import {vaultFlag} from '../shared-flags.js'

export const verify = declare({
  id: 'verify',
  summary: 'Check that session tokens still work (GET /account/whoami)',
  description:
    'Checks the named sessions, or every session, in parallel; an OAuth session whose access token has expired is refreshed first. Exit 0 only when all are valid; 4 when a token is revoked, expired (or expiring, with --expiring-within) or belongs to another device, else 5 when a server could not be asked, else 6 for keychain trouble.',
  examples: [
    '<%= config.bin %> verify',
    '<%= config.bin %> verify bot bridge --json',
    '<%= config.bin %> verify --expiring-within 7d   # exit 4 names the sessions dead a week from now',
    '<%= config.bin %> verify --format prometheus > /var/lib/node_exporter/textfile_collector/mxtok.prom.$$',
  ],
  json: true,
  variadic: true,
  args: {
    name: {description: 'session names (default: all)', session: true},
  },
  flags: {
    format: flag.string({
      description:
        "table (default), or prometheus: gauges mxtok_session_valid and mxtok_session_expiry_timestamp_seconds for node_exporter's textfile collector",
      options: ['table', 'prometheus'],
      exclusive: ['json'],
    }),
    'expiring-within': flag.string({description: 'count a valid session whose token expires within this time (e.g. 7d, 12h) as "expiring", with exit 4'}),
    vault: vaultFlag,
  },
})
