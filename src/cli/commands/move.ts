import {STORE_KINDS} from '../../store/store-kinds.js'
import {declare, flag} from '../declaration.js'
import {vaultFlag} from '../shared-flags.js'

export const move = declare({
  id: 'move',
  summary: "Move a session's token to another secret store",
  description: 'The token is written and read back in the target store before it is removed from the old one, so it is never in neither.',
  examples: ['MXTOK_PASSPHRASE=… <%= config.bin %> move bot --to file', '<%= config.bin %> move bot --to keychain'],
  json: true,
  args: {
    name: {description: 'session name', required: true, session: true},
  },
  flags: {
    to: flag.string({description: 'the store to move the token to', options: STORE_KINDS, required: true}),
    vault: vaultFlag,
  },
})
