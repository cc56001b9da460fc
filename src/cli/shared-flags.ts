import {STORE_KINDS} from '../store/secret-store.js'
import {flag} from './declaration.js'

/** Flags that mean the same on every command that has them. */
export const allowHttpFlag = flag.boolean({description: 'allow a plain http:// homeserver that is not on loopback'})

export const storeFlag = flag.string({
  description: 'where to keep the token: the OS keychain, or a file encrypted with MXTOK_PASSPHRASE',
  options: STORE_KINDS,
  env: 'MXTOK_STORE',
  default: 'keychain',
})
