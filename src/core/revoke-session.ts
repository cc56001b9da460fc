import {MatrixError} from '../matrix/errors.js'
import type {Session} from '../registry/registry.js'
import {secretAccount, storeLabel} from '../store/secret-store.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readToken} from './find-session.js'

export interface RevokeResult {
  name: string
  userId: string
  deviceId: string
  homeserver: string
  /** True when the server confirmed the token is dead (now, or already before). */
  revokedOnServer: boolean
}

/**
 * Logs the session's token out on the server (which deletes its device), then forgets it locally.
 * Nothing local is removed unless the server confirmed, so a failed revoke can simply be retried.
 */
export async function revokeSession(opts: {name: string; localOnly?: boolean}, deps: Deps): Promise<RevokeResult> {
  const session = await findSession(opts.name, deps)
  let revokedOnServer = false
  if (!opts.localOnly) {
    const token = await readToken(session, deps)
    if (token === null) throw missingToken(session)
    await logoutAcceptingDead(session, token, deps)
    revokedOnServer = true
  }
  await forget(session, deps)
  return {name: session.name, userId: session.userId, deviceId: session.deviceId, homeserver: session.homeserver, revokedOnServer}
}

/** A session replaced by one on another device: its token must die, not linger with nobody holding it. */
export async function retireReplaced(previous: Session, deps: Deps): Promise<void> {
  try {
    const token = await readToken(previous, deps)
    if (token !== null) await logoutAcceptingDead(previous, token, deps)
    await deps.store(previous.store).delete(secretAccount(previous.userId, previous.deviceId))
  } catch (error) {
    deps.warn(`the replaced session's device ${previous.deviceId} could not be logged out (${(error as Error).message}); its token stays in the ${storeLabel(previous.store)} until it can be`)
  }
}

async function logoutAcceptingDead(session: Session, token: string, deps: Deps): Promise<void> {
  try {
    await deps.client(session.homeserver).logout(token)
  } catch (error) {
    if (error instanceof MatrixError && error.errcode === 'M_UNKNOWN_TOKEN') return
    if (error instanceof MatrixError) {
      throw new MatrixError({
        status: error.status,
        errcode: error.errcode,
        message: `${error.message}; session "${session.name}" was kept — try again, or use --local-only to forget it while its token may still work`,
        cause: error,
      })
    }
    throw error
  }
}

async function forget(session: Session, deps: Deps): Promise<void> {
  const account = secretAccount(session.userId, session.deviceId)
  // Under the registry lock, so that the store and the registry change together for other runs.
  await deps.registry.update(async (sessions) => {
    const current = sessions.get(session.name)
    // A create that ran meanwhile may have put a new session under this name: keep that one.
    if (!current || current.createdAt !== session.createdAt || secretAccount(current.userId, current.deviceId) !== account) return
    await deps.store(session.store).delete(account)
    sessions.delete(session.name)
  })
}

