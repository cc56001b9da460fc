import {MxtokError} from '../errors.js'
import {isAccessToken} from '../matrix/access-token.js'
import type {TokenSet} from '../matrix/oauth-client.js'

/** A session's store entry, decoded. */
export interface StoredSecret {
  accessToken: string
  /** OAuth sessions, and password sessions on servers that expire access tokens. */
  refreshToken: string | null
  /** An admin client's: the secret that gets it a new access token (client credentials grant). */
  clientSecret: string | null
  /** Milliseconds since the epoch; null when the token has no known end (a password login's). */
  expiresAt: number | null
}

/**
 * A password session keeps its bare token, as it always has. An OAuth session, and a password
 * session on a server that expires access tokens, keeps one JSON object,
 * {access_token, refresh_token, expires_at}, written with one store.set so that the pair never tears:
 * the refresh token rotates with every refresh, and a new access token without its refresh token
 * would be a session that dies at its first expiry. No Matrix access token starts with "{".
 */
export function encodeTokenPair(tokens: TokenSet & {refreshToken: string}, now: Date): string {
  const expiresAt = tokens.expiresInS === null ? null : new Date(now.getTime() + Math.ceil(tokens.expiresInS * 1000)).toISOString()
  return JSON.stringify({access_token: tokens.accessToken, refresh_token: tokens.refreshToken, expires_at: expiresAt})
}

/**
 * An admin client's session keeps {access_token, client_secret, expires_at}: its token comes with no
 * refresh token, and the client secret gets the next one. Written with one store.set, as a pair is.
 */
export function encodeClientTokens(tokens: TokenSet, clientSecret: string, now: Date): string {
  const expiresAt = tokens.expiresInS === null ? null : new Date(now.getTime() + Math.ceil(tokens.expiresInS * 1000)).toISOString()
  return JSON.stringify({access_token: tokens.accessToken, client_secret: clientSecret, expires_at: expiresAt})
}

/**
 * `owner` names whose secret it is in the error, e.g. 'session "bot"'. A bare token must be a token
 * (printable ASCII): an empty one is what KWallet leaves of an item when it is killed within
 * seconds of the write, and handed out it would be an empty line and exit 0.
 */
export function decodeSecret(raw: string, owner: string): StoredSecret {
  if (!raw.startsWith('{')) {
    if (!isAccessToken(raw)) throw new MxtokError('tokenInvalid', `the stored token of ${owner} is empty or damaged; create the session again`)
    return {accessToken: raw, refreshToken: null, clientSecret: null, expiresAt: null}
  }
  let value: Record<string, unknown> | undefined
  try {
    value = JSON.parse(raw)
  } catch {
    value = undefined
  }
  const expiresAt = typeof value?.expires_at === 'string' ? Date.parse(value.expires_at) : null
  const renewer = (key: string) => (typeof value?.[key] === 'string' && value[key] !== '' ? (value[key] as string) : null)
  const refreshToken = renewer('refresh_token')
  const clientSecret = renewer('client_secret')
  // One of the two, never both: a pair is refreshed, an admin client's token is asked for again.
  if (
    !value ||
    typeof value.access_token !== 'string' ||
    !isAccessToken(value.access_token) ||
    (refreshToken === null) === (clientSecret === null) ||
    Number.isNaN(expiresAt)
  ) {
    throw damaged(owner)
  }
  return {accessToken: value.access_token, refreshToken, clientSecret, expiresAt}
}

const damaged = (owner: string) => new MxtokError('tokenInvalid', `the stored tokens of ${owner} are damaged; create the session again`)
