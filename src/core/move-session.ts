import {MxtokError, usageError} from '../errors.js'
import type {Registry} from '../registry/registry.js'
import {secretAccount} from '../store/secret-store.js'
import {type StoreKind, storeLabel} from '../store/store-kinds.js'
import type {Deps} from './deps.js'
import {findSession, missingToken} from './find-session.js'

export interface MoveResult {
  name: string
  from: StoreKind
  to: StoreKind
}

/**
 * Moves a session's token to another store without a moment where it is in neither: written and
 * read back in the target, recorded, and only then removed from the source. With the team home,
 * a move to the vault brings a session of this machine's registry there, and a move elsewhere
 * brings one of the team home's here.
 */
export async function moveSession(opts: {name: string; to: StoreKind}, deps: Deps): Promise<MoveResult> {
  const local = deps.localRegistry
  if (local === undefined) return moveWithin(opts, deps)
  const [from, into] = opts.to === 'vault' ? [local, deps.registry] : [deps.registry, local]
  return moveAcross(opts, from, into, deps)
}

async function moveWithin(opts: {name: string; to: StoreKind}, deps: Deps): Promise<MoveResult> {
  const session = await findSession(opts.name, deps)
  const from = session.store
  if (from === opts.to) throw usageError(`session "${session.name}" is already in the ${storeLabel(from)}`)
  const account = secretAccount(session.userId, session.deviceId)
  const source = deps.store(from)
  const target = deps.store(opts.to)
  await target.check()
  // Under the registry lock: a refresh of an OAuth token, which also runs under it, cannot rotate
  // the secret between the copy and the switch and be lost.
  await deps.registry.update(async (sessions) => {
    const current = sessions.get(session.name)
    if (!current || current.createdAt !== session.createdAt || current.store !== from) throw changedMeanwhile(session.name)
    const secret = await source.get(account)
    if (secret === null) throw missingToken(session)
    await target.set(account, secret, session)
    if ((await target.get(account)) !== secret) {
      throw new MxtokError('store', `the ${storeLabel(opts.to)} did not keep the token; session "${session.name}" stays in the ${storeLabel(from)}`)
    }
    sessions.set(session.name, {...current, store: opts.to})
  })
  await removeFrom(deps, from, opts.to, session.name, () => source.delete(account))
  return {name: session.name, from, to: opts.to}
}

/**
 * From one registry to the other: inside an exclusive update of the source (its lock, or the
 * team home's claim on the session), so that no refresh rotates the token between the copy and
 * the removal; the session is recorded with its token in the target, read back, and only then
 * removed from the source.
 */
async function moveAcross(opts: {name: string; to: StoreKind}, from: Registry, into: Registry, deps: Deps): Promise<MoveResult> {
  const session = await from.get(opts.name)
  if (!session) throw usageError(`no session named "${opts.name}" in ${from.path}; "mxtok list --offline" shows the sessions there`)
  if (session.store === opts.to) throw usageError(`session "${session.name}" is already in the ${storeLabel(opts.to)}`)
  const account = secretAccount(session.userId, session.deviceId)
  const source = deps.store(session.store)
  const target = deps.store(opts.to)
  await target.check()
  const taken = await into.get(session.name)
  if (taken) throw usageError(`${into.path} has a session named "${session.name}" already; revoke or move that one first`)
  await from.update(
    async (sessions) => {
      const current = sessions.get(session.name)
      if (!current || current.createdAt !== session.createdAt || current.store !== session.store) throw changedMeanwhile(session.name)
      const secret = await source.get(account)
      if (secret === null) throw missingToken(session)
      await into.update(
        async (there) => {
          const other = there.get(session.name)
          // Applied again after a conflict, this update finds its own copy there.
          if (other && (other.createdAt !== session.createdAt || secretAccount(other.userId, other.deviceId) !== account)) {
            throw usageError(`${into.path} has a session named "${session.name}" already; revoke or move that one first`)
          }
          await target.set(account, secret, session)
          there.set(session.name, {...current, store: opts.to})
        },
        {sessions: [session.name]},
      )
      if ((await target.get(account)) !== secret) {
        throw new MxtokError('store', `the ${storeLabel(opts.to)} did not keep the token of "${session.name}"; the session stays in ${from.path}`)
      }
      if (from.tokens === undefined) await removeFrom(deps, session.store, opts.to, session.name, () => source.delete(account))
      else await source.delete(account)
      sessions.delete(session.name)
    },
    {sessions: [session.name], exclusive: true},
  )
  return {name: session.name, from: session.store, to: opts.to}
}

/** A copy left in the source is only warned of: the token is safe in the target. */
async function removeFrom(deps: Deps, from: StoreKind, to: StoreKind, name: string, remove: () => Promise<boolean>): Promise<void> {
  try {
    await remove()
  } catch (error) {
    deps.warn(
      `the token of "${name}" is now in the ${storeLabel(to)}, but its copy in the ${storeLabel(from)} could not be removed (${(error as Error).message})`,
    )
  }
}

const changedMeanwhile = (name: string) => new MxtokError('unexpected', `session "${name}" changed while it was being moved; nothing was moved`)
