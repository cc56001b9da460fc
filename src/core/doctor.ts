import {MatrixError} from '../matrix/errors.js'
import {STORE_KINDS, type StoreKind} from '../store/secret-store.js'
import type {Deps} from './deps.js'

export interface StoreCheck {
  store: StoreKind
  ok: boolean
  /** Why it does not work, and how to fix it. */
  problem?: string
}

export interface HomeserverCheck {
  homeserver: string
  sessions: number
  ok: boolean
  problem?: string
}

export interface DoctorReport {
  registry: string
  sessions: number
  configuredStore: StoreKind
  stores: StoreCheck[]
  homeservers: HomeserverCheck[]
  /** True when the configured store works: the exit status of `mxtok doctor`. */
  ok: boolean
}

/** What works on this machine: each secret store, the registry, and the sessions' homeservers. */
export async function runDoctor(opts: {configuredStore: StoreKind}, deps: Deps): Promise<DoctorReport> {
  const sessions = await deps.registry.list()
  const stores = await Promise.all(
    STORE_KINDS.map(async (store): Promise<StoreCheck> => {
      try {
        await deps.store(store).check()
        return {store, ok: true}
      } catch (error) {
        return {store, ok: false, problem: (error as Error).message}
      }
    }),
  )
  const counts = new Map<string, number>()
  for (const s of sessions) counts.set(s.homeserver, (counts.get(s.homeserver) ?? 0) + 1)
  const homeservers = await Promise.all(
    [...counts].map(async ([homeserver, n]): Promise<HomeserverCheck> => {
      try {
        await deps.client(homeserver).versions()
        return {homeserver, sessions: n, ok: true}
      } catch (error) {
        if (error instanceof MatrixError) return {homeserver, sessions: n, ok: false, problem: error.message}
        throw error
      }
    }),
  )
  const configured = stores.find((s) => s.store === opts.configuredStore)!
  return {registry: deps.registry.path, sessions: sessions.length, configuredStore: opts.configuredStore, stores, homeservers, ok: configured.ok}
}

