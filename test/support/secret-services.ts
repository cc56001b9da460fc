// The three Secret Services mxtok is tested against, each started the same way and driven through
// the same handful of operations, so that a test can run over all of them with describe.each.
import {type KeePassXCOptions, startKeePassXC} from './keepassxc.js'
import {type KeyringSession, lockKeyring, startKeyring, unlockKeyring} from './keyring.js'
import {type KWalletOptions, startKWallet} from './kwallet.js'

export type ServiceKind = 'gnome-keyring' | 'keepassxc' | 'kwallet'
export const SERVICE_KINDS: readonly ServiceKind[] = ['gnome-keyring', 'keepassxc', 'kwallet']

export interface SecretServiceUnderTest extends KeyringSession {
  kind: ServiceKind
  /** From the start of the bus to a Secret Service that has stored and read back a secret. */
  startMs: number
  /** Locks the default collection, as a screen lock or an idle timeout would. */
  lock(): Promise<void>
  unlock(): Promise<void>
}

export type ServiceOptions = KeePassXCOptions & KWalletOptions

export async function startSecretService(kind: ServiceKind, opts: ServiceOptions = {}): Promise<SecretServiceUnderTest> {
  if (kind === 'keepassxc') return startKeePassXC(opts)
  if (kind === 'kwallet') return startKWallet(opts)
  const began = Date.now()
  const keyring = await startKeyring()
  return {
    ...keyring,
    kind,
    startMs: Date.now() - began,
    lock: () => lockKeyring(keyring.env),
    unlock: () => unlockKeyring(keyring.env),
  }
}
