import type {Deps} from './deps.js'
import {findSession, missingToken, readToken} from './find-session.js'

/** The raw token of a session: for `mxtok token` alone, which is the one place a token is printed. */
export async function getToken(name: string, deps: Deps): Promise<string> {
  const session = await findSession(name, deps)
  const token = await readToken(session, deps)
  if (token === null) throw missingToken(session)
  return token
}
