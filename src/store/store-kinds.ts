import {FileStore} from './file-store.js'
import {KeychainStore} from './keychain-store.js'
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
  /** The tokens of the team home (MXTOK_VAULT or --vault), which its registry keeps with the sessions. */
  teamStore(): SecretStore
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
   * Others change its secrets without this machine's registry hearing of it (a colleague's rotate in
   * a team's vault), so `exec` reads it now and then to follow a session. The others change only
   * through mxtok here, which rewrites the registry; and reading a desktop keychain that has locked
   * itself would ask for its password.
   */
  changedElsewhere: boolean
  /** Makes the store; it does nothing until asked something. list --offline reads this table but makes none: the build leaves the stores' code out of offline.cjs. */
  open(ctx: StoreContext): Opened
}

/** A store as its row makes it (its kind, which names the row, is left out: the type of the table cannot depend on itself). */
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
    changedElsewhere: false,
    open: (ctx) => new KeychainStore({timeoutMs: ctx.timeoutMs('MXTOK_KEYCHAIN_TIMEOUT', 3000), env: ctx.env}),
  },
  file: {
    label: 'encrypted file store',
    about: 'a file encrypted with MXTOK_PASSPHRASE',
    lists: true,
    prefetches: false,
    changedElsewhere: false,
    open: (ctx) => {
      const file: FileStore = new FileStore(
        ctx.configDir,
        ctx.passphrase(() => file.path),
      )
      return file
    },
  },
  vault: {
    label: 'team home in OpenBao/Vault',
    about: 'the team home in OpenBao or HashiCorp Vault, which MXTOK_VAULT=MOUNT/PREFIX (or --vault) names and which then holds every session',
    // Its tokens are its sessions': none is held by no session.
    lists: false,
    prefetches: true,
    changedElsewhere: true,
    open: (ctx) => ctx.teamStore(),
  },
} as const satisfies Record<string, StoreRow>

/** Where a session's token lives. The registry records which store holds each session's token. */
export type StoreKind = keyof typeof STORES

export const STORE_KINDS = Object.keys(STORES) as StoreKind[]

/** The store of new sessions when neither --store nor MXTOK_STORE says. */
export const DEFAULT_STORE: StoreKind = 'keychain'

export const isStoreKind = (value: unknown): value is StoreKind => typeof value === 'string' && Object.hasOwn(STORES, value)

export const storeLabel = (kind: StoreKind): string => STORES[kind].label

/** Whether others may change the store's secrets without this machine's registry hearing of it. */
export const changedElsewhere = (kind: StoreKind): boolean => STORES[kind].changedElsewhere

/** A new store of this kind. */
export const openStore = (kind: StoreKind, ctx: StoreContext): SecretStore => STORES[kind].open(ctx)
