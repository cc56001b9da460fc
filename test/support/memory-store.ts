import {MxtokError} from '../../src/errors.js'
import type {SecretStore} from '../../src/store/secret-store.js'

/** A secret store in memory, with switches to make it fail the way a real keychain does. */
export class MemoryStore implements SecretStore {
  readonly kind = 'keychain' as const
  readonly items = new Map<string, string>()
  /** The account of every set, in order: a pair of tokens must be one write, never two. */
  readonly writes: string[] = []
  failCheck = false
  failSet = false

  async check(): Promise<void> {
    if (this.failCheck) throw new MxtokError('keychain', 'keychain is locked (test)')
  }

  async get(account: string): Promise<string | null> {
    return this.items.get(account) ?? null
  }

  async set(account: string, secret: string): Promise<void> {
    if (this.failSet) throw new MxtokError('keychain', 'keychain write failed (test)')
    this.writes.push(account)
    this.items.set(account, secret)
  }

  async delete(account: string): Promise<boolean> {
    return this.items.delete(account)
  }
}
