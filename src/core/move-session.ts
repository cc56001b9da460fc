import {MxtokError, usageError} from '../errors.js'
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
 * read back in the target, recorded in the registry, and only then removed from the source.
 */
export async function moveSession(opts: {name: string; to: StoreKind}, deps: Deps): Promise<MoveResult> {
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
    if (!current || current.createdAt !== session.createdAt || current.store !== from) {
      throw new MxtokError('unexpected', `session "${session.name}" changed while it was being moved; nothing was moved`)
    }
    const secret = await source.get(account)
    if (secret === null) throw missingToken(session)
    await target.set(account, secret, session)
    if ((await target.get(account)) !== secret) {
      throw new MxtokError('store', `the ${storeLabel(opts.to)} did not keep the token; session "${session.name}" stays in the ${storeLabel(from)}`)
    }
    sessions.set(session.name, {...current, store: opts.to})
  })
  try {
    await source.delete(account)
  } catch (error) {
    deps.warn(
      `the token of "${session.name}" is now in the ${storeLabel(opts.to)}, but its copy in the ${storeLabel(from)} could not be removed (${(error as Error).message})`,
    )
  }
  return {name: session.name, from, to: opts.to}
}
