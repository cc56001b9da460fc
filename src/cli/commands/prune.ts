import {declare, flag} from '../declaration.js'
import {allowHttpFlag, vaultFlag} from '../shared-flags.js'

export const prune = declare({
  id: 'prune',
  summary: 'Delete devices of an account that no local session owns: orphans, or devices unused for N days',
  description: `Deletes devices through User-Interactive Auth with the account's password. Never a device of a local session, nor the one prune itself uses: a live local session's token when there is one, else a temporary login that is logged out at the end. --orphans selects devices named MXTOK… that no local session owns; --never-seen those with no display name that were never seen, as register_new_matrix_user leaves with a token nobody has; --inactive-days N those last seen more than N days ago (a device never seen is not selected); --keep N spares the N most recently seen; together they select devices matching all. With --as ADMIN_SESSION, a server admin lists and deletes another user's devices through Synapse's admin API, with no password; on a server behind MAS, which lets no client delete devices, it lists the user's compatibility, OAuth and personal sessions through MAS's admin API and ends the selected ones, with the same selectors (an admin session there is made with create --oauth --admin). Shows the devices first; then asks on a terminal, or needs --yes.`,
  examples: [
    '<%= config.bin %> prune --user @bot:example.com --orphans --dry-run',
    '<%= config.bin %> prune --user @bot:example.com --inactive-days 90   # lists, then asks',
    '<%= config.bin %> prune --user @someone:example.com --as admin --keep 3 --yes   # an admin: all but the 3 newest',
    '<%= config.bin %> prune --user @someone:example.com --as admin --inactive-days 90 --dry-run   # behind MAS: sessions, not devices',
    'printf \'%s\\n\' "$BOT_PASSWORD" | <%= config.bin %> prune --user @bot:example.com --orphans --yes --password-stdin --json',
  ],
  json: true,
  args: {},
  flags: {
    user: flag.string({char: 'u', description: 'full Matrix ID (@alice:example.com), or a localpart with --homeserver', required: true}),
    homeserver: flag.string({description: 'homeserver base URL; default: that of a local session of the user, else discovered'}),
    orphans: flag.boolean({description: 'select devices named MXTOK… that no local session owns'}),
    'never-seen': flag.boolean({
      description: 'select devices with no display name that were never seen (shared-secret registration leaves one on every account it makes)',
    }),
    'inactive-days': flag.integer({description: 'select devices last seen more than N days ago', min: 1}),
    keep: flag.integer({description: 'keep the N most recently seen devices that no local session owns; select the rest', min: 0}),
    as: flag.string({
      description: "work through Synapse's admin API (or MAS's, on a server behind MAS) with this session of a server admin: no password",
      exclusive: ['homeserver', 'password-stdin'],
    }),
    'dry-run': flag.boolean({description: 'only show what would be deleted'}),
    yes: flag.boolean({char: 'y', description: 'delete without asking (needed when standard input is not a terminal)'}),
    'password-stdin': flag.boolean({description: 'read the password from the first line of standard input'}),
    'allow-http': allowHttpFlag,
    vault: vaultFlag,
  },
})
