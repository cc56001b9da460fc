import {DEFAULT_STORE, STORE_KINDS, STORES} from '../store/store-kinds.js'
import {flag} from './declaration.js'

/** Flags that mean the same on every command that has them. */
export const allowHttpFlag = flag.boolean({description: 'allow a plain http:// homeserver that is not on loopback'})

export const storeFlag = flag.string({
  description: `where to keep the token: ${STORE_KINDS.map((kind) => STORES[kind].about).join(', or ')}`,
  options: STORE_KINDS,
  env: 'MXTOK_STORE',
  default: DEFAULT_STORE,
})

export const vaultFlag = flag.string({
  description:
    "work on the team home in OpenBao/Vault at this KV version 2 MOUNT/PREFIX (e.g. secret/mxtok): its sessions and tokens instead of this machine's",
  env: 'MXTOK_VAULT',
  helpGroup: 'GLOBAL',
})
