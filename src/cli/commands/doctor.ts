import {DEFAULT_STORE} from '../../store/store-kinds.js'
import {declare, flag} from '../declaration.js'
import {storeFlag, vaultFlag} from '../shared-flags.js'

export const doctor = declare({
  id: 'doctor',
  summary: "Check that the configured secret store and the sessions' homeservers work",
  description: `The verdict is about what is configured: the store chosen (--store, MXTOK_STORE, default ${DEFAULT_STORE}) and any other store holding sessions, and the homeservers of the sessions; a store nobody uses is reported as information. With MXTOK_VAULT set, it also reports the OpenBao/Vault server: reachable, sealed or not, the token's TTL and its capabilities on the prefix. Exit 0 when all of that works; 9 when that server cannot be used, else 6 when such a store does not work, else 5 when a homeserver does not answer. Also says where the registry is, and reports what an interrupted run left behind.`,
  examples: ['<%= config.bin %> doctor', 'MXTOK_STORE=file <%= config.bin %> doctor --json', '<%= config.bin %> doctor --fix'],
  json: true,
  args: {},
  flags: {
    store: {...storeFlag, description: 'the store to require'},
    fix: flag.boolean({description: 'log out and remove orphan tokens left by an interrupted run, and delete the keys removed sessions left in the team home'}),
    vault: vaultFlag,
  },
})
