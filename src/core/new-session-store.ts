import type {SecretStore} from '../store/secret-store.js'
import {DEFAULT_STORE, type StoreKind} from '../store/store-kinds.js'
import type {Deps} from './deps.js'

/** Where a new session's token goes: a registry that keeps tokens itself (the team home) takes them all, else the store asked for. */
export const newSessionStore = (asked: StoreKind | undefined, deps: Deps): SecretStore => deps.store(deps.registry.tokens ?? asked ?? DEFAULT_STORE)
