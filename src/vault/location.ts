import {usageError} from '../errors.js'

/** Where mxtok keeps its sessions in OpenBao/Vault: a KV version 2 mount and a folder in it. */
export interface VaultLocation {
  mount: string
  prefix: string
}

/**
 * MXTOK_VAULT (or --vault) as MOUNT/PREFIX: the first segment is the mount (`secret`), the rest the
 * folder under it (`mxtok`, `teams/ops/mxtok`). A mount whose own path has a slash cannot be named.
 */
export function parseVaultLocation(text: string): VaultLocation {
  const segments = text
    .trim()
    .replace(/^\/+|\/+$/g, '')
    .split('/')
  const bad = segments.find((s) => s === '' || s === '.' || s === '..' || /[\s?#%\\]/.test(s))
  if (segments.length < 2 || bad !== undefined) {
    throw usageError(`"${text}" is not a MOUNT/PREFIX for OpenBao/Vault; give the KV version 2 mount and a folder in it, e.g. secret/mxtok`)
  }
  return {mount: segments[0], prefix: segments.slice(1).join('/')}
}
