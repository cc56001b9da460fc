import {MxtokError} from '../errors.js'
import type {Session} from '../registry/registry.js'
import {secretAccount, storeLabel} from '../store/secret-store.js'
import type {Deps} from './deps.js'

export async function findSession(name: string, deps: Deps): Promise<Session> {
  const session = await deps.registry.get(name)
  if (!session) throw new MxtokError('usage', `no session named "${name}"; "mxtok list --offline" shows the sessions`)
  return session
}

/** The session's token, or null when its store holds none. Store failures throw (exit 6). */
export function readToken(session: Session, deps: Deps): Promise<string | null> {
  return deps.store(session.store).get(secretAccount(session.userId, session.deviceId))
}

export const missingToken = (session: Session) =>
  new MxtokError('tokenInvalid', `the ${storeLabel(session.store)} holds no token for session "${session.name}"; create it again, or forget it with "mxtok revoke ${session.name} --local-only"`)
