import type {SecretStore} from '../store/secret-store.js'
import type {VaultRegistry} from './vault-registry.js'

/**
 * The tokens of the team home, as a secret store: they live in the sessions' own secrets, so the
 * registry holds them, and a token written in one of its updates is written with the session.
 */
export class TeamStore implements SecretStore {
  readonly kind = 'vault' as const

  constructor(private readonly registry: VaultRegistry) {}

  check(): Promise<void> {
    return this.registry.check()
  }

  get(account: string): Promise<string | null> {
    return this.registry.tokenOf(account)
  }

  async set(account: string, secret: string): Promise<void> {
    await this.registry.keepToken(account, secret)
  }

  delete(account: string): Promise<boolean> {
    return this.registry.keepToken(account, null)
  }

  prefetch(accounts: string[]): Promise<void> {
    return this.registry.readTokens(accounts)
  }

  whileRunning<T>(work: () => Promise<T>, warn: (line: string) => void): Promise<T> {
    return this.registry.whileRunning(work, warn)
  }
}
