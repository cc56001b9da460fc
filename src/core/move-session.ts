import {MxtokError, usageError} from '../errors.js'
import {secretAccount, storeLabel, type StoreKind} from '../store/secret-store.js'
import type {Deps} from './deps.js'
import {findSession, missingToken} from './find-session.js'

export interface MoveResult {
  name: string
  from: StoreKind
  to: StoreKind
}

/**
 * Moves a session's token to another store without a moment where it is in neither: written and
 * read back in the target, recorded in the registry, and only then removed from the source.
 */
export async function moveSession(opts: {name: string; to: StoreKind}, deps: Deps): Promise<MoveResult> {
  const session = await findSession(opts.name, deps)
  const from = session.store
  if (from === opts.to) throw usageError(`session "${session.name}" is already in the ${storeLabel(from)}`)
  const account = secretAccount(session.userId, session.deviceId)
  const source = deps.store(from)
  const target = deps.store(opts.to)
  const token = await source.get(account)
  if (token === null) throw missingToken(session)
  await target.check()
  await target.set(account, token)
  if ((await target.get(account)) !== token) {
    throw new MxtokError('keychain', `the ${storeLabel(opts.to)} did not keep the token; session "${session.name}" stays in the ${storeLabel(from)}`)
  }
  const moved = await deps.registry.update((sessions) => {
    const current = sessions.get(session.name)
    // Replaced meanwhile by a create on another device: leave that session alone.
    if (!current || current.deviceId !== session.deviceId || current.userId !== session.userId) return false
    sessions.set(session.name, {...current, store: opts.to})
    return true
  })
  if (!moved) {
    await target.delete(account)
    throw new MxtokError('unexpected', `session "${session.name}" changed while it was being moved; nothing was moved`)
  }
  try {
    await source.delete(account)
  } catch (error) {
    deps.warn(`the token of "${session.name}" is now in the ${storeLabel(opts.to)}, but its copy in the ${storeLabel(from)} could not be removed (${(error as Error).message})`)
  }
  return {name: session.name, from, to: opts.to}
}
