import type {SecretStore} from './secret-store.js'

/** What a store is made from: plain values and functions, so this folder needs nothing of the command line. */
export interface StoreContext {
  env: NodeJS.ProcessEnv
  /** The config directory, where the registry lives. */
  configDir: string
  /** A timeout from the environment variable `name` in seconds, as milliseconds; `fallbackMs` when unset or bad. */
  timeoutMs(name: string, fallbackMs: number): number
  /** Asks for a passphrase (once per run) for the file at `path`. */
  passphrase(path: () => string): () => Promise<string>
}

/** One kind of secret store: how it is named to a person, what it can do, and how it is made. */
interface StoreRow {
  /** As a sentence names it: "the OS keychain" holds no token for … */
  label: string
  /** What --store says of it, after "where to keep the token: ". */
  about: string
  /** It can list every account it holds (doctor finds tokens no session names); a store shared with other programs cannot. */
  lists: boolean
  /** It can read many secrets in one go (prefetch). */
  prefetches: boolean
  /**
   * Makes the store. A dynamic import: the registry and `list --offline` read this table for the
   * kinds and labels, and must not load the code of every store with it.
   */
  open(ctx: StoreContext): Promise<Opened>
}

/** A store as its row opens it: openStore gives it its kind. */
type Opened = Omit<SecretStore, 'kind'>

/**
 * Every secret store mxtok can keep tokens in. `StoreKind` is this table's keys: the registry's
 * "store" field, --store's options, doctor's checks and move's targets all come from here. A new
 * store is its own file and one row.
 */
export const STORES = {
  keychain: {
    label: 'OS keychain',
    about: 'the OS keychain',
    lists: false,
    prefetches: true,
    open: async (ctx) => {
      const {KeychainStore} = await import('./keychain-store.js')
      return new KeychainStore({timeoutMs: ctx.timeoutMs('MXTOK_KEYCHAIN_TIMEOUT', 3000), env: ctx.env})
    },
  },
  file: {
    label: 'encrypted file store',
    about: 'a file encrypted with MXTOK_PASSPHRASE',
    lists: true,
    prefetches: false,
    open: async (ctx) => {
      const {FileStore} = await import('./file-store.js')
      const file: InstanceType<typeof FileStore> = new FileStore(
        ctx.configDir,
        ctx.passphrase(() => file.path),
      )
      return file
    },
  },
} as const satisfies Record<string, StoreRow>

/** Where a session's token lives. The registry records which store holds each session's token. */
export type StoreKind = keyof typeof STORES

export const STORE_KINDS = Object.keys(STORES) as StoreKind[]

/** The store of new sessions when neither --store nor MXTOK_STORE says. */
export const DEFAULT_STORE: StoreKind = 'keychain'

export const isStoreKind = (value: unknown): value is StoreKind => typeof value === 'string' && Object.hasOwn(STORES, value)

export const storeLabel = (kind: StoreKind): string => STORES[kind].label

/**
 * The store of this kind, made on first use: the row's capabilities say which of the optional
 * methods it has before its code is loaded.
 */
export function openStore(kind: StoreKind, ctx: StoreContext): SecretStore {
  const row: StoreRow = STORES[kind]
  let opened: Promise<Opened> | undefined
  const store = () => (opened ??= row.open(ctx))
  return {
    kind,
    check: async () => (await store()).check(),
    get: async (account) => (await store()).get(account),
    set: async (account, secret) => (await store()).set(account, secret),
    delete: async (account) => (await store()).delete(account),
    ...(row.prefetches ? {prefetch: async (accounts: string[]) => (await store()).prefetch?.(accounts)} : {}),
    ...(row.lists ? {accounts: async () => (await store()).accounts?.() ?? []} : {}),
  }
}
