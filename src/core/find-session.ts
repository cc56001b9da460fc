import {MxtokError} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'
import {isEndedSession, MAS_ADMIN_SCOPE, type TokenSet} from '../matrix/oauth-client.js'
import {type OAuthGrant, oauthGrant, type Session} from '../registry/session.js'
import {secretAccount} from '../store/secret-store.js'
import {storeLabel} from '../store/store-kinds.js'
import type {Deps} from './deps.js'
import {decodeSecret, encodeClientTokens, encodeTokenPair, type StoredSecret} from './session-secret.js'

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
  return (await readLiveToken(session, deps, rejected))?.token ?? null
}

/** A token fit for use, and when it stops being one (milliseconds since the epoch; null when unknown). */
export interface LiveToken {
  token: string
  expiresAt: number | null
}

/** readToken, with the end of the token handed out: exec watches it, to refresh before it comes. */
export async function readLiveToken(session: Session, deps: Deps, rejected?: string): Promise<LiveToken | null> {
  if (session.expiresAt !== undefined && Date.parse(session.expiresAt) <= deps.now().getTime()) {
    throw new MxtokError('tokenInvalid', `the token of session "${session.name}" expired at ${session.expiresAt}; create the session again`)
  }
  const secret = await readSecret(session, deps)
  if (secret === null) return null
  const grant = oauthGrant(session)
  const live = {token: secret.accessToken, expiresAt: secret.expiresAt}
  if (!grant && secret.refreshToken === null) return live
  const expiring = secret.expiresAt !== null && secret.expiresAt - deps.now().getTime() < REFRESH_MARGIN_MS
  if (!expiring && secret.accessToken !== rejected) return live
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
      session.auth === 'client'
        ? `the sign-in service of ${host} no longer gives client ${session.oauth.clientId} of session "${session.name}" a token (${cause.errcode}): its secret was changed, or the client is no longer in its configuration (clients, policy.data.admin_clients); create the session again with the current secret`
        : !oauthGrant(session)
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
 * Through the OAuth grant's token endpoint, or without one the homeserver's POST /v3/refresh; an
 * admin client's token is replaced by a new one of the client credentials grant, and the one
 * replaced revoked, if it still lives: MAS keeps a session for every token it issued the client
 * until it is revoked, and one renewal every few minutes would otherwise pile them up there.
 * Under the registry lock, so that concurrent runs refresh one after another: refresh tokens rotate,
 * and the server revokes the previous access token at each refresh, so two runs refreshing the same
 * pair would each kill the other's token. The stored pair is re-read inside the lock; when it no
 * longer holds `seen`, another run has refreshed it already and its token is the live one.
 */
async function refreshUnderLock(session: Session, grant: OAuthGrant | undefined, seen: string, deps: Deps): Promise<LiveToken> {
  const account = secretAccount(session.userId, session.deviceId)
  const store = deps.store(session.store)
  const {live, badLifetime, replaced} = await deps.registry.update(
    async (sessions): Promise<Renewed> => {
      const current = sessions.get(session.name)
      if (!current || current.createdAt !== session.createdAt || current.store !== session.store) {
        throw new MxtokError('unexpected', `session "${session.name}" changed while its token was being refreshed; run the command again`)
      }
      const raw = await store.get(account)
      if (raw === null) throw missingToken(session)
      const stored = decodeSecret(raw, `session "${session.name}"`)
      if (stored.accessToken !== seen || (stored.refreshToken === null && stored.clientSecret === null))
        return {live: {token: stored.accessToken, expiresAt: stored.expiresAt}}
      // The server ends the stored access token when it answers the refresh (MAS does). A run killed
      // before the new pair is written would leave that dead token to be handed out until its expiry:
      // written as due first, it is refreshed at its next use instead, with the old refresh token,
      // which the server accepts again while the pair it was exchanged for is unused. (An admin
      // client's new token leaves the old one alive: it has nothing to mark.)
      const now = deps.now()
      if (stored.refreshToken !== null && (stored.expiresAt === null || stored.expiresAt - now.getTime() >= REFRESH_MARGIN_MS))
        await store.set(account, encodeTokenPair({accessToken: stored.accessToken, refreshToken: stored.refreshToken, expiresInS: 0}, now), session)
      let tokens: TokenSet
      try {
        tokens = await renew(session, grant, stored, deps)
      } catch (error) {
        if (isEndedSession(error) || (session.auth === 'client' && error instanceof MatrixError && error.errcode === 'invalid_scope'))
          throw new RefreshRefused(session, error as MatrixError)
        if (!grant && error instanceof MatrixError && error.errcode === 'M_UNKNOWN_TOKEN') throw new RefreshRefused(session, error)
        throw error
      }
      // If this write fails the new pair is lost, but the old refresh token still works once: the
      // server accepts a refresh token again while the pair it was exchanged for has not been used.
      // A pair whose lifetime made no sense is stored all the same, without a known end, and the error
      // comes after: the server has made it the session's pair, and it is refreshed once refused.
      const secret =
        stored.clientSecret !== null
          ? encodeClientTokens(tokens, stored.clientSecret, deps.now())
          : encodeTokenPair({...tokens, refreshToken: tokens.refreshToken ?? (stored.refreshToken as string)}, deps.now())
      await store.set(account, secret, session)
      const fresh = decodeSecret(secret, `session "${session.name}"`)
      return {
        live: {token: fresh.accessToken, expiresAt: fresh.expiresAt},
        badLifetime: tokens.badLifetime,
        replaced: stored.clientSecret === null ? undefined : stored,
      }
    },
    {sessions: [session.name], exclusive: true},
  )
  if (replaced && grant) await retireClientToken(session, grant, replaced, deps)
  if (badLifetime) throw badLifetime.withContext(` (the refreshed tokens of session "${session.name}" were kept; run the command again)`)
  return live
}

interface Renewed {
  live: LiveToken
  badLifetime?: MatrixError
  /** An admin client's secret as it was, with the token now replaced. */
  replaced?: StoredSecret
}

async function renew(session: Session, grant: OAuthGrant | undefined, stored: StoredSecret, deps: Deps): Promise<TokenSet> {
  if (grant && stored.clientSecret !== null)
    return deps.oauth(session.homeserver).clientCredentials(grant.tokenEndpoint, {id: grant.clientId, secret: stored.clientSecret}, MAS_ADMIN_SCOPE)
  if (grant) return deps.oauth(session.homeserver).refresh(grant.tokenEndpoint, grant.clientId, stored.refreshToken as string)
  return deps.client(session.homeserver).refresh(stored.refreshToken as string)
}

/** The admin client's token just replaced: revoked if it may live, a failure only warned of (it dies at its expiry anyway). */
async function retireClientToken(session: Session, grant: OAuthGrant, old: StoredSecret, deps: Deps): Promise<void> {
  if (!grant.revocationEndpoint || old.clientSecret === null) return
  if (old.expiresAt !== null && old.expiresAt <= deps.now().getTime()) return
  const client = {id: grant.clientId, secret: old.clientSecret}
  await deps
    .oauth(session.homeserver)
    .revokeToken(grant.revocationEndpoint, client, old.accessToken, 'access_token')
    .catch((error: Error) => deps.warn(`the replaced access token of session "${session.name}" could not be revoked (${error.message}); it ends at its expiry`))
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
