import {MxtokError, usageError} from '../errors.js'
import {MatrixError, withContext} from '../matrix/errors.js'
import {isAccount} from '../matrix/user-id.js'
import type {PendingAdminLogin, PendingClientLogin, PendingLogin, PendingOAuthLogin, PendingPersonalLogin, Session} from '../registry/session.js'
import {type SecretStore, secretAccount} from '../store/secret-store.js'
import {storeLabel} from '../store/store-kinds.js'
import type {Deps} from './deps.js'
import {heldByAnother, isOwn, leaseUntil, lockedByAnother} from './lease.js'
import {retireReplaced} from './revoke-session.js'

/**
 * Where a login goes: `who` is the identifier sent, a full user ID or, until the server has named
 * the account, a localpart; the device is the one the login asks for.
 */
export interface LoginTarget {
  who: string
  deviceId: string
}

/** What a login hands over to be kept: the session, and the secret its store holds for it. */
export interface Obtained {
  session: Session
  secret: string
}

/**
 * For LoginRun.request: a login that failed this way made no token. The server refused it, or the
 * request never left (mxtok's own refusals, such as plain http, come before any request).
 */
export const madeNothing = (error: unknown) => error instanceof MxtokError || (error instanceof MatrixError && (!error.isLocal || error.notSent))

/** What a journal entry says of how its login is made, beyond its device. */
export type LoginKind =
  | {auth: 'password'}
  | Pick<PendingOAuthLogin, 'auth' | 'oauth'>
  | Pick<PendingAdminLogin, 'auth' | 'deviceId' | 'admin'>
  | Pick<PendingClientLogin, 'auth' | 'oauth'>
  | Pick<PendingPersonalLogin, 'auth' | 'personal'>

/** What a login can do while its device is journalled. */
export interface LoginRun<Live> {
  /** Sends a request that may leave a credential on the server; `nothingMade` says of an error that it left none. */
  request<T>(send: () => Promise<T>, nothingMade: (error: unknown) => boolean): Promise<T>
  /** The credential this run holds and must end if it cannot keep it; undefined once it is ended. */
  hold(live: Live | undefined): void
  /** Journals another device instead, in one update, so that some entry covers a device at every moment. */
  moveTo(target: LoginTarget): Promise<void>
  /**
   * A step has ended the token of `old`, the session this login remakes: if the run fails from here
   * on, its journal entry stays for doctor, the dead token leaves the store (so that `mxtok token`
   * fails rather than print it), and `advice` (what is dead, what to run) ends the error's message.
   */
  lost(old: Session, advice: string): void
}

/** What differs between the logins: how the credential is obtained and ended, and what becomes of the one replaced. */
export interface LoginPlan<Live> {
  name: string
  /** The homeserver's key, as sessions record it. */
  homeserver: string
  store: SecretStore
  target: LoginTarget
  /** A probe device is nobody's and is not checked; any other must belong to no other session. */
  probe?: boolean
  /**
   * How the login is made, as the journal keeps it: a device grant's grant, so that `mxtok doctor
   * --fix` can revoke what a killed run left; an admin login's maker and expiry, so that `mxtok
   * doctor` can say when its deviceless token ends.
   */
  kind: LoginKind
  /**
   * What `obtain` may take, for the lease its journal entry holds the device by: the requests it
   * may send (each taking at most the run's request bound), and how long it may wait besides (a
   * device grant's life).
   */
  takes: {requests: number; waitMs?: number}
  obtain(run: LoginRun<Live>): Promise<Obtained>
  end(live: Live): Promise<void>
  /** Finishes the warning when `end` failed, given its error's message. */
  endFailed(message: string): string
  /** The warning when the device may hold a credential nobody has: `entry` is what the journal keeps of it. */
  stranded(entry: PendingLogin & {name: string}): string
  /** The session on the same device this one replaced, with its secret as the store held it (null: none). */
  sameDevice?(old: Session, oldSecret: string | null): Promise<void>
}

/**
 * Logs in without ever leaving a device with a token nobody has, unreported: the device is written
 * to the registry's `pending` before any request that may create a token on it, as this run's
 * lease on it, and a run that finds another's lease there, not run out, stops before any request
 * (the registry's update decides: the local file's lock, the team home's check-and-set); the token
 * is stored and the session recorded under the registry lock, in the same update that drops the
 * entry; on failure the token held is ended and the entry dropped, or, if a token may be out there
 * unheld, the entry stays for `mxtok doctor` and the user is told. Once recorded, the session
 * replaced by this one is retired.
 */
export async function journalledLogin<Live>(plan: LoginPlan<Live>, deps: Deps): Promise<Session> {
  const {name, store} = plan
  const {self} = deps
  // The name is for doctor's "create it again", which finishes a password login; a device grant's
  // entry carries the grant instead, which is what doctor needs to revoke what it left. The lease
  // lasts what the login may take from now.
  const entry = (t: LoginTarget): PendingLogin => {
    const now = deps.now()
    const lease = {by: self.by, pid: self.pid, until: leaseUntil(now, self, plan.takes.requests, plan.takes.waitMs)}
    const base = {userId: t.who, deviceId: t.deviceId, homeserver: plan.homeserver, store: store.kind, since: now.toISOString(), ...lease}
    return plan.kind.auth === 'oauth' ? {...base, ...plan.kind} : {name, ...base, ...plan.kind}
  }
  const account = (t: LoginTarget) => secretAccount(t.who, t.deviceId)
  // Only this run's own entry is removed: once its lease ran out, another run may have taken the device over.
  const journal = (add: LoginTarget | undefined, remove?: LoginTarget) =>
    deps.registry.update(
      (_, pending) => {
        const held = add && pending.get(account(add))
        if (held && heldByAnother(held, self, deps.now())) throw lockedByAnother(held)
        if (remove && isOwn(pending.get(account(remove)), self)) pending.delete(account(remove))
        if (add) pending.set(account(add), entry(add))
      },
      {sessions: []},
    )
  const claim = async (t: LoginTarget) => assertDeviceFree(await deps.registry.list(), name, plan.homeserver, t, DEVICE_TAKEN)

  let target = plan.target
  // What could outlive this run on the server if it stopped now: a request under way (its
  // credential may exist even though the answer never came back), or a credential only held here.
  let inFlight = false
  let live: Live | undefined
  let lost: {old: Session; advice: string} | undefined
  const run: LoginRun<Live> = {
    async request(send, nothingMade) {
      inFlight = true
      try {
        const answer = await send()
        inFlight = false
        return answer
      } catch (error) {
        if (nothingMade(error)) inFlight = false
        throw error
      }
    },
    hold: (l) => {
      live = l
    },
    async moveTo(to) {
      await claim(to)
      await journal(to, target)
      target = to
    },
    lost: (old, advice) => {
      lost = {old, advice}
    },
  }

  if (!plan.probe) await claim(target)
  await journal(target)
  const started = deps.now().toISOString()
  let replaced: {old: Session | undefined; oldSecret: string | null}
  let session: Session
  try {
    const obtained = await plan.obtain(run)
    session = obtained.session
    replaced = await recordSession(store, obtained, {readOld: plan.sameDevice !== undefined, done: account(target)}, deps)
    live = undefined
  } catch (error) {
    if (live !== undefined) {
      await plan
        .end(live)
        .then(() => (live = undefined))
        .catch((e) => deps.warn(plan.endFailed((e as Error).message)))
    }
    if (live === undefined && !inFlight && !lost) await journal(undefined, target).catch(() => {})
    else if (live !== undefined || inFlight) deps.warn(plan.stranded({...entry(target), name}))
    if (!lost) throw error
    await forgetDeadToken(lost.old, deps)
    throw withContext(error, lost.advice)
  }
  const {old} = replaced
  if (old && old.createdAt >= started && secretAccount(old.userId, old.deviceId) === account(target) && !plan.sameDevice) {
    // Another run logged in to this device while this one did, and recorded first: the device may
    // hold that run's token too, which nobody has now. Journalled again, for doctor to report.
    await journal(target).catch(() => {})
    deps.warn(plan.stranded({...entry(target), name}))
    return session
  }
  await retireReplacedSession(old, replaced.oldSecret, session, plan.sameDevice, deps)
  return session
}

/** Removes a token known dead from its store; one that cannot be removed is only warned of, the error that matters being the run's. */
async function forgetDeadToken(old: Session, deps: Deps): Promise<void> {
  await deps
    .store(old.store)
    .delete(secretAccount(old.userId, old.deviceId))
    .catch((error: Error) => deps.warn(`the dead token of "${old.name}" could not be removed from the ${storeLabel(old.store)} (${error.message})`))
}

/**
 * Stores the secret and records the session under the registry lock, so that concurrent runs
 * write the store and the registry in turn; drops the pending entry `done` in the same update, if
 * it is still this run's.
 * `check` runs first under the lock. Returns the session of that name it replaced, with its secret
 * as the store held it when `readOld` asks for it.
 */
export async function recordSession(
  store: SecretStore,
  {session, secret}: Obtained,
  opts: {readOld?: boolean; done?: string; check?: (sessions: Map<string, Session>) => void},
  deps: Deps,
): Promise<{old: Session | undefined; oldSecret: string | null}> {
  const account = secretAccount(session.userId, session.deviceId)
  // A check may look at every session; without one, the update needs only this one.
  const scope = opts.check ? undefined : {sessions: [session.name]}
  return deps.registry.update(async (sessions, pending) => {
    opts.check?.(sessions)
    const oldSecret = opts.readOld ? await store.get(account) : null
    await store.set(account, secret, session)
    const old = sessions.get(session.name)
    sessions.set(session.name, session)
    // Not an entry another run wrote over this one's once its lease ran out: that run is still under way.
    if (opts.done !== undefined && isOwn(pending.get(opts.done), deps.self)) pending.delete(opts.done)
    return {old, oldSecret}
  }, scope)
}

/**
 * Ends what the new session replaced: a session on another device would otherwise live on, held
 * by nobody; one on the same device is the caller's to judge (`sameDevice`). Without a judge, the
 * old token is the new one or died with the device's reset, and a copy of it left in another store
 * is only removed.
 */
export async function retireReplacedSession(
  old: Session | undefined,
  oldSecret: string | null,
  session: Session,
  sameDevice: ((old: Session, oldSecret: string | null) => Promise<void>) | undefined,
  deps: Deps,
): Promise<void> {
  if (!old) return
  const account = secretAccount(session.userId, session.deviceId)
  if (secretAccount(old.userId, old.deviceId) !== account) await retireReplaced(old, deps)
  else if (sameDevice) await sameDevice(old, oldSecret)
  else if (old.store !== session.store) {
    await deps
      .store(old.store)
      .delete(account)
      .catch((error: Error) => {
        deps.warn(`the replaced token of "${session.name}" could not be removed from the ${storeLabel(old.store)} (${error.message})`)
      })
  }
}

/** What to do about a device that another session holds, when logging in to it anew. */
export const DEVICE_TAKEN = 'revoke that session first or choose another --device-id'

/**
 * Refuses a device that another session of the same account holds. `who` may be a bare localpart
 * before the server has named the account: then any session of that localpart on this homeserver counts.
 */
export function assertDeviceFree(sessions: Iterable<Session>, name: string, homeserver: string, t: LoginTarget, remedy: string): void {
  const same = (s: Session) => isAccount(s.userId, t.who) && (t.who.startsWith('@') || s.homeserver === homeserver)
  for (const s of sessions) {
    if (s.name !== name && s.deviceId === t.deviceId && same(s))
      throw usageError(`device ${t.deviceId} of ${t.who} already belongs to session "${s.name}"; ${remedy}`)
  }
}
