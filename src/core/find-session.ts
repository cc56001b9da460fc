import {MxtokError} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'
import {isEndedSession} from '../matrix/oauth-client.js'
import {type OAuthGrant, oauthGrant, type Session} from '../registry/session.js'
import {secretAccount} from '../store/secret-store.js'
import {storeLabel} from '../store/store-kinds.js'
import type {Deps} from './deps.js'
import {decodeSecret, encodeTokenPair, type StoredSecret} from './session-secret.js'

/** An OAuth access token this close to its end is refreshed before use, so it does not die in the hands of its user. */
export const REFRESH_MARGIN_MS = 60_000

export async function findSession(name: string, deps: Deps): Promise<Session> {
  const session = await deps.registry.get(name)
  if (!session) throw new MxtokError('usage', `no session named "${name}"; "mxtok list --offline" shows the sessions`)
  return session
}

/**
 * The one place a session's access token is read for use (token, exec, verify, list and the rest):
 * a token kept with a refresh token (an OAuth session's, or a password session's on a server that
 * expires tokens) that expires within REFRESH_MARGIN_MS, or that the server has just refused
 * (`rejected`), is refreshed first and the new pair stored. null when the store holds nothing.
 * Store failures throw (exit 6); a refresh the server refuses throws RefreshRefused (exit 4).
 */
export async function readToken(session: Session, deps: Deps, rejected?: string): Promise<string | null> {
  if (session.expiresAt !== undefined && Date.parse(session.expiresAt) <= deps.now().getTime()) {
    throw new MxtokError('tokenInvalid', `the token of session "${session.name}" expired at ${session.expiresAt}; create the session again`)
  }
  const secret = await readSecret(session, deps)
  if (secret === null) return null
  const grant = oauthGrant(session)
  if (!grant && secret.refreshToken === null) return secret.accessToken
  const expiring = secret.expiresAt !== null && secret.expiresAt - deps.now().getTime() < REFRESH_MARGIN_MS
  if (!expiring && secret.accessToken !== rejected) return secret.accessToken
  return refreshUnderLock(session, grant, secret.accessToken, deps)
}

/** Everything the store keeps for the session — for revoking it, never for printing. */
export async function readSecret(session: Session, deps: Deps): Promise<StoredSecret | null> {
  const raw = await deps.store(session.store).get(secretAccount(session.userId, session.deviceId))
  return raw === null ? null : decodeSecret(raw, `session "${session.name}"`)
}

export const missingToken = (session: Session) =>
  new MxtokError(
    'tokenInvalid',
    `the ${storeLabel(session.store)} holds no token for session "${session.name}"; create it again, or forget it with "mxtok revoke ${session.name} --local-only"`,
  )

/**
 * The authorization server refused the refresh: the session was ended there (revoked, logged out,
 * expired), or the client its tokens were issued to is gone.
 */
export class RefreshRefused extends MxtokError {
  constructor(session: Session, cause: MatrixError) {
    const host = new URL(session.homeserver).host
    super(
      'tokenInvalid',
      !oauthGrant(session)
        ? `${host} no longer accepts the refresh token of session "${session.name}" (${cause.errcode}): the session was logged out there; create it again`
        : cause.errcode === 'invalid_client'
          ? `the sign-in service of ${host} no longer knows the client of session "${session.name}" (invalid_client), so its tokens are dead; create it again`
          : `the sign-in service of ${host} no longer accepts the refresh token of session "${session.name}" (${cause.errcode}): the session was ended there; create it again`,
      {cause},
    )
    this.name = 'RefreshRefused'
  }
}

/**
 * Through the OAuth grant's token endpoint, or without one the homeserver's POST /v3/refresh.
 * Under the registry lock, so that concurrent runs refresh one after another: refresh tokens rotate,
 * and the server revokes the previous access token at each refresh, so two runs refreshing the same
 * pair would each kill the other's token. The stored pair is re-read inside the lock; when it no
 * longer holds `seen`, another run has refreshed it already and its token is the live one.
 */
async function refreshUnderLock(session: Session, grant: OAuthGrant | undefined, seen: string, deps: Deps): Promise<string> {
  const account = secretAccount(session.userId, session.deviceId)
  const store = deps.store(session.store)
  const {token, badLifetime} = await deps.registry.update(
    async (sessions) => {
      const current = sessions.get(session.name)
      if (!current || current.createdAt !== session.createdAt || current.store !== session.store) {
        throw new MxtokError('unexpected', `session "${session.name}" changed while its token was being refreshed; run the command again`)
      }
      const raw = await store.get(account)
      if (raw === null) throw missingToken(session)
      const stored = decodeSecret(raw, `session "${session.name}"`)
      if (stored.accessToken !== seen || stored.refreshToken === null) return {token: stored.accessToken}
      let tokens
      try {
        tokens = grant
          ? await deps.oauth(session.homeserver).refresh(grant.tokenEndpoint, grant.clientId, stored.refreshToken)
          : await deps.client(session.homeserver).refresh(stored.refreshToken)
      } catch (error) {
        if (isEndedSession(error) || (!grant && error instanceof MatrixError && error.errcode === 'M_UNKNOWN_TOKEN'))
          throw new RefreshRefused(session, error as MatrixError)
        throw error
      }
      // If this write fails the new pair is lost, but the old refresh token still works once: the
      // server accepts a refresh token again while the pair it was exchanged for has not been used.
      // A pair whose lifetime made no sense is stored all the same, without a known end, and the error
      // comes after: the server has made it the session's pair, and it is refreshed once refused.
      await store.set(account, encodeTokenPair({...tokens, refreshToken: tokens.refreshToken ?? stored.refreshToken}, deps.now()), session)
      return {token: tokens.accessToken, badLifetime: tokens.badLifetime}
    },
    {sessions: [session.name], exclusive: true},
  )
  if (badLifetime) throw badLifetime.withContext(` (the refreshed tokens of session "${session.name}" were kept; run the command again)`)
  return token
}

/** From this many sessions in one store on, one batch read beats reading each token on its own. */
export const PREFETCH_FROM = 8

/** Lets each store read the tokens of many sessions in one go before they are read one by one. */
export async function prefetchTokens(sessions: Session[], deps: Deps): Promise<void> {
  const byStore = new Map<Session['store'], string[]>()
  for (const s of sessions) {
    const accounts = byStore.get(s.store) ?? []
    accounts.push(secretAccount(s.userId, s.deviceId))
    byStore.set(s.store, accounts)
  }
  await Promise.all([...byStore].map(async ([kind, accounts]) => (accounts.length >= PREFETCH_FROM ? deps.store(kind).prefetch?.(accounts) : undefined)))
}
