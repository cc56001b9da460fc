import {assertNever} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'
import {parseUserId} from '../matrix/user-id.js'
import {type OAuthGrant, oauthGrant, type PendingAdminLogin, type PendingPasswordLogin, type PendingPersonalLogin} from '../registry/session.js'
import {secretAccount} from '../store/secret-store.js'
import {STORE_KINDS, type StoreKind} from '../store/store-kinds.js'
import type {EngineCheck} from '../vault/engine-check.js'
import {adminCreateCommand, createAgainCommand} from './create-advice.js'
import type {Deps} from './deps.js'
import {heldByAnother, holder} from './lease.js'
import {masAdminAccess, revokePersonal} from './personal-token.js'
import {endTokens} from './revoke-session.js'
import {decodeSecret} from './session-secret.js'

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

/**
 * What a run killed half-way can leave: a token in a store that no session names, or a device
 * whose login was under way, which may hold a token that nobody has.
 */
export interface Orphan {
  kind: 'token' | 'login'
  /** The session an interrupted create was making (or remaking: it may exist, its token dead). */
  name?: string
  userId: string
  deviceId: string
  store: StoreKind
  homeserver: string | null
  /** A browser sign-in (OAuth 2.0): its session is ended at this sign-in service, not with prune. */
  issuer?: string
  /** For an interrupted create: whether the session exists, so that its stored token may be dead. */
  sessionExists?: boolean
  /** What to run about it: for an interrupted password create, that create again. */
  advice?: string
  /**
   * An interrupted personal token of MAS: a create's personal session, named `humanName`, which
   * --fix revokes with the session `admin`; or a rotation's (no humanName), which rotate again puts right.
   */
  personal?: {admin: string; humanName?: string}
  /** An interrupted admin login: its token, if one was made, is on no device and ends by itself. */
  admin?: {by: string; expiresAt?: string}
  /** An admin client's create, interrupted: its token, if one was made, is no user's and ends by itself within minutes. */
  client?: string
  /**
   * A login another run is making now (its lease has not run out): no leftover, and --fix leaves
   * it alone. `by`: user@host and process; `until`: when its lease ends, and it is a leftover if it is still there.
   */
  inProgress?: {by: string; since: string; until: string}
  /** With --fix: the token was logged out and removed, or the stale entry cleared. */
  fixed: boolean
}

export interface DoctorReport {
  registry: string
  sessions: number
  configuredStore: StoreKind
  stores: StoreCheck[]
  homeservers: HomeserverCheck[]
  orphans: Orphan[]
  /** The OpenBao/Vault server of MXTOK_VAULT, when it is set. */
  engine?: EngineCheck
  /** In the team home: the keys of removed sessions left behind (no token in them), and how many --fix deleted. */
  removedKeys?: {left: number; deleted: number}
  /** True when the configured store works: the exit status of `mxtok doctor`. */
  ok: boolean
}

/** What works on this machine: each secret store, the registry, and the sessions' homeservers. */
export async function runDoctor(
  opts: {configuredStore: StoreKind; fix?: boolean; checkEngine?: () => Promise<EngineCheck>},
  deps: Deps,
): Promise<DoctorReport> {
  const engine = await opts.checkEngine?.()
  // The team home is the registry: with its engine unusable there is nothing more to read, and the
  // engine's row says why.
  if (engine && !engine.ok && deps.registry.tokens !== undefined) {
    return {registry: deps.registry.path, sessions: 0, configuredStore: opts.configuredStore, stores: [], homeservers: [], orphans: [], ok: false, engine}
  }
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
  const working = new Set(stores.filter((s) => s.ok).map((s) => s.store))
  const orphans = await findOrphans(working, deps, opts.fix ?? false)
  const removedKeys = await deps.registry.removedKeys?.(opts.fix ?? false)
  const configured = stores.find((s) => s.store === opts.configuredStore)!
  const report: DoctorReport = {
    registry: deps.registry.path,
    sessions: sessions.length,
    configuredStore: opts.configuredStore,
    stores,
    homeservers,
    orphans,
    ...(removedKeys ? {removedKeys} : {}),
    ok: configured.ok,
  }
  return engine ? {...report, engine} : report
}

async function findOrphans(working: Set<StoreKind>, deps: Deps, fix: boolean): Promise<Orphan[]> {
  const sessions = await deps.registry.list()
  const owned = new Set(sessions.map((s) => `${s.store} ${secretAccount(s.userId, s.deviceId)}`))
  const found: Orphan[] = []
  for (const p of await deps.registry.pending()) {
    const account = secretAccount(p.userId, p.deviceId)
    if (heldByAnother(p, deps.self, deps.now())) {
      const name = 'name' in p && p.name !== undefined ? {name: p.name} : {}
      const inProgress = {by: holder(p), since: p.since, until: p.until!}
      found.push({kind: 'login', ...name, userId: p.userId, deviceId: p.deviceId, store: p.store, homeserver: p.homeserver, inProgress, fixed: false})
      continue
    }
    // A password re-create killed half-way: the session's device may hold a token nobody has, and
    // the stored one may be dead. Only a login with the password can put that right.
    if (p.auth === 'password') {
      const owner = sessions.find((s) => secretAccount(s.userId, s.deviceId) === account)
      if (owner) {
        found.push(interruptedCreate({...p, name: p.name ?? owner.name}, true))
        continue
      }
    }
    if (p.auth === 'personal') {
      found.push(await interruptedPersonal(p, owned.has(`${p.store} ${account}`), fix && working.has(p.store), deps))
      continue
    }
    if (owned.has(`${p.store} ${account}`) || !working.has(p.store)) continue
    const token = await deps.store(p.store).get(account)
    const where = {userId: p.userId, deviceId: p.deviceId, store: p.store, homeserver: p.homeserver}
    if (token !== null) {
      const orphan: Orphan = {kind: 'token', ...where, fixed: false}
      if (fix) orphan.fixed = await retire(orphan, token, account, deps, oauthGrant(p))
      found.push(orphan)
      continue
    }
    switch (p.auth) {
      case 'password':
        found.push(interruptedCreate(p, false))
        break
      case 'admin':
        found.push(interruptedAdminLogin(p))
        break
      case 'client': {
        // Nothing can end a token nobody holds; it dies at the end of its short life, and --fix forgets the entry.
        const orphan: Orphan = {kind: 'login', ...where, ...(p.name === undefined ? {} : {name: p.name}), client: p.oauth.clientId, fixed: false}
        if (fix) orphan.fixed = await retire(orphan, null, account, deps)
        found.push(orphan)
        break
      }
      case 'oauth': {
        // Only the user's account can end a sign-in that was approved; --fix forgets the entry.
        const orphan: Orphan = {kind: 'login', ...where, issuer: p.oauth.issuer, fixed: false}
        if (fix) orphan.fixed = await retire(orphan, null, account, deps)
        found.push(orphan)
        break
      }
      default:
        assertNever(p, 'kind of pending login')
    }
  }
  // A store that can be listed (a file, unlike a keychain) should hold no token but the sessions'.
  const known = new Set(found.map((o) => secretAccount(o.userId, o.deviceId)))
  for (const kind of STORE_KINDS) {
    const store = working.has(kind) ? deps.store(kind) : undefined
    if (!store?.accounts) continue
    for (const account of await store.accounts()) {
      if (owned.has(`${kind} ${account}`) || known.has(account)) continue
      const slash = account.lastIndexOf('/')
      const orphan: Orphan = {kind: 'token', userId: account.slice(0, slash), deviceId: account.slice(slash + 1), store: kind, homeserver: null, fixed: false}
      if (fix) orphan.fixed = await retire(orphan, await store.get(account), account, deps)
      found.push(orphan)
    }
  }
  return found
}

/**
 * An admin login journalled by a create that never finished. Nothing can end its token, if one was
 * made: it is on no device, and only the admin's logging out everywhere reaches it before it expires.
 */
function interruptedAdminLogin(p: PendingAdminLogin): Orphan {
  const {admin} = p
  const orphan: Orphan = {
    kind: 'login',
    userId: p.userId,
    deviceId: p.deviceId,
    store: p.store,
    homeserver: p.homeserver,
    admin: {by: admin.by, ...(admin.expiresAt ? {expiresAt: admin.expiresAt} : {})},
    fixed: false,
  }
  if (p.name === undefined) return orphan
  return {...orphan, name: p.name, advice: adminCreateCommand({...p, name: p.name}, admin.session)}
}

/**
 * A personal token of MAS whose create or rotate never finished. A create's personal session has a
 * name of its own, by which --fix finds it among the user's live ones at MAS and revokes it (with a
 * token the store may hold for it that no session owns); a rotation is put right by rotating again.
 */
async function interruptedPersonal(p: PendingPersonalLogin, owned: boolean, fix: boolean, deps: Deps): Promise<Orphan> {
  const {admin, humanName} = p.personal
  const orphan: Orphan = {kind: 'login', name: p.name, userId: p.userId, deviceId: p.deviceId, store: p.store, homeserver: p.homeserver, fixed: false}
  if (humanName === undefined) return {...orphan, sessionExists: owned, personal: {admin}, advice: `mxtok rotate ${p.name}`}
  const found = {...orphan, sessionExists: owned, personal: {admin, humanName}}
  if (!fix) return found
  const account = secretAccount(p.userId, p.deviceId)
  try {
    const {mas} = await masAdminAccess(admin, p.homeserver, deps)
    const actor = await mas.userByUsername(parseUserId(p.userId).localpart)
    for (const s of await mas.activePersonalSessions(actor.id)) if (s.humanName === humanName) await revokePersonal(mas, s.id)
    await deps.registry.update(async (sessions, pending) => {
      const holder = [...sessions.values()].some((s) => s.store === p.store && secretAccount(s.userId, s.deviceId) === account)
      if (!holder) await deps.store(p.store).delete(account)
      if (pending.get(account)?.since === p.since) pending.delete(account)
    })
    return {...found, fixed: true}
  } catch (error) {
    deps.warn(`could not revoke the personal token that the create of "${p.name}" may have left: ${(error as Error).message}`)
    return found
  }
}

/**
 * A password login journalled by a create that never finished. --fix cannot end it: the token
 * nobody has can be ended only by deleting its device, and the session's own token may be dead.
 */
function interruptedCreate(p: PendingPasswordLogin, sessionExists: boolean): Orphan {
  const orphan: Orphan = {kind: 'login', userId: p.userId, deviceId: p.deviceId, store: p.store, homeserver: p.homeserver, fixed: false}
  // Journalled by an mxtok that did not record the session's name: prune is all there is to say.
  if (p.name === undefined) return orphan
  return {...orphan, name: p.name, sessionExists, advice: createAgainCommand({...p, name: p.name})}
}

/**
 * Logs an orphan token out, or revokes an OAuth pair (a dead one is fine), and forgets it; reports
 * whether that worked. An OAuth pair whose issuer is not known stays: /logout cannot end it.
 */
async function retire(orphan: Orphan, token: string | null, account: string, deps: Deps, grant?: OAuthGrant): Promise<boolean> {
  try {
    if (token !== null) {
      const secret = decodeSecret(token, `the orphan of device ${orphan.deviceId}`)
      const renewable = secret.refreshToken !== null || secret.clientSecret !== null
      if (orphan.homeserver === null || (renewable && !grant)) return false
      await endTokens(orphan.homeserver, renewable ? grant : undefined, secret, deps)
      await deps.store(orphan.store).delete(account)
    }
    await deps.registry.update((_, pending) => void pending.delete(account), {sessions: []})
    return true
  } catch (error) {
    deps.warn(`could not retire the orphan of device ${orphan.deviceId}: ${(error as Error).message}`)
    return false
  }
}
