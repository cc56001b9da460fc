import {MxtokError} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'
import {authIssuer} from './auth-issuer.js'
import type {Deps} from './deps.js'

/**
 * The tokens of a Matrix Authentication Service (MAS) that its /logout cannot end: OAuth access
 * tokens (mat_) and personal access tokens (mpt_). It answers them 401 M_UNKNOWN_TOKEN while they
 * keep working; only the client's RFC 7009 revocation or MAS's admin API ends them.
 */
const MAS_TOKEN_KINDS: Record<string, string> = {mat_: 'an OAuth access token', mpt_: 'a personal access token'}

/** A token that mxtok could not end and that may still work: the session must be kept, and the user told what to do. */
export class TokenNotEnded extends MxtokError {
  constructor(
    message: string,
    /** What the user does before forgetting the session with --local-only. */
    readonly remedy: string,
    cause?: unknown,
  ) {
    super('tokenInvalid', message, {cause})
    this.name = 'TokenNotEnded'
  }
}

/** TokenNotEnded's remedy for a personal token: an admin session of MAS can end it (revoke --as). */
export const PERSONAL_REMEDY = 'revoke it with an admin session of MAS'

const isUnknownToken = (error: unknown): error is MatrixError => error instanceof MatrixError && error.errcode === 'M_UNKNOWN_TOKEN'

/**
 * POST /logout. Its 401 M_UNKNOWN_TOKEN counts as "already dead" only with proof: the token is not
 * one that the server's /logout cannot handle (a MAS token other than a compatibility one, on a
 * server with next-generation auth), and whoami refuses it too. Otherwise throws TokenNotEnded.
 */
export async function logoutToken(homeserver: string, token: string, deps: Deps): Promise<void> {
  const client = deps.client(homeserver)
  let refused: MatrixError
  try {
    await client.logout(token)
    return
  } catch (error) {
    if (!isUnknownToken(error)) throw error
    refused = error
  }
  const host = new URL(homeserver).host
  const kind = MAS_TOKEN_KINDS[token.slice(0, 4)]
  const issuer = kind === undefined ? null : await authIssuer(homeserver, deps)
  if (issuer !== null) {
    const remedy = token.startsWith('mpt_') ? PERSONAL_REMEDY : 'revoke the token there'
    throw new TokenNotEnded(`${host} does not end ${kind} at /logout, only its authentication service ${issuer} does`, remedy, refused)
  }
  try {
    await client.whoami(token)
  } catch (error) {
    if (isUnknownToken(error)) return
    throw error
  }
  throw new TokenNotEnded(`${host} refused to log out the token (M_UNKNOWN_TOKEN) yet still accepts it`, 'end it where it was issued', refused)
}
