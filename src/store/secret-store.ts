import type {StoreKind} from './store-kinds.js'

/** Whose token a secret is. */
export interface SecretAbout {
  userId: string
  deviceId: string
  homeserver: string
}

export interface SecretStore {
  readonly kind: StoreKind
  /** Proves the store can be written now; throws MxtokError ('keychain' or 'store') saying why and how to fix it. */
  check(): Promise<void>
  get(account: string): Promise<string | null>
  /**
   * `about` says whose token it is, for a store that others read without mxtok (OpenBao/Vault:
   * a bot reads user_id, device_id and homeserver beside the token); the others ignore it.
   */
  set(account: string, secret: string, about?: SecretAbout): Promise<void>
  /** True when something was deleted. */
  delete(account: string): Promise<boolean>
  // The two below are there where the store's row in STORES says it can.
  /**
   * Reads many secrets in one go where the store can: the next get() of each account found is
   * served from it, once. It may return before the reads are done. Failing quietly is fine: get()
   * then asks the store and reports.
   */
  prefetch?(accounts: string[]): Promise<void>
  /** Every account the store holds, where it can be listed (a file can, a keychain shared with other programs is not). */
  accounts?(): Promise<string[]>
  /**
   * Runs `work` with what the store needs kept alive meanwhile (the team home: its OpenBao/Vault
   * token, renewed at about two thirds of its TTL for as long as `exec`'s command runs).
   */
  whileRunning?<T>(work: () => Promise<T>, warn: (line: string) => void): Promise<T>
}

/** The key of a token in a store: a device holds at most one live token, so user and device name it. */
export const secretAccount = (userId: string, deviceId: string) => `${userId}/${deviceId}`
