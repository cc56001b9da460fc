import {declare, flag} from '../declaration.js'
import {vaultFlag} from '../shared-flags.js'

export const list = declare({
  id: 'list',
  summary: "Show the sessions beside their accounts' devices on the server",
  description: 'One GET /devices per account, accounts in parallel. Devices named MXTOK… that no local session owns are flagged as orphans.',
  examples: ['<%= config.bin %> list', '<%= config.bin %> list --offline --json'],
  json: true,
  args: {},
  flags: {
    offline: flag.boolean({description: 'do not contact any server'}),
    vault: vaultFlag,
  },
  // The team home is read through the network, with the rest of the commands.
  offline: (flags) => flags.offline === true && flags.vault === undefined,
})
