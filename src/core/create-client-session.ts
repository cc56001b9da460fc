import {randomBytes} from 'node:crypto'
import {MxtokError, usageError} from '../errors.js'
import {base32} from '../matrix/device-id.js'
import {MatrixError} from '../matrix/errors.js'
import {homeserverKey, parseHomeserverUrl} from '../matrix/homeserver-url.js'
import {CLIENT_CREDENTIALS_GRANT, type ClientCredentials, MAS_ADMIN_SCOPE, type TokenSet} from '../matrix/oauth-client.js'
import {type AdminClientSession, clientAccount, newClientTokenKey, type OAuthGrant, type Session} from '../registry/session.js'
import {DEFAULT_STORE, type StoreKind} from '../store/store-kinds.js'
import {oauthMetadata} from './create-oauth-session.js'
import type {Deps} from './deps.js'
import {journalledLogin, madeNothing} from './journalled-login.js'
import {endTokens} from './revoke-session.js'
import {validateSessionName} from './session-name.js'
import {encodeClientTokens} from './session-secret.js'

export interface ClientCreateOptions {
  name: string
  homeserver: string
  /** The client's ID, as listed in MAS's configuration (`clients:`, `policy.data.admin_clients`). */
  clientId: string
  /** Asked for only once everything that can be checked without it is fine. */
  clientSecret: () => Promise<string>
  store?: StoreKind
}

/** Client IDs are short printable words (MAS's are ULIDs); anything else is a mistake, never sent. */
const CLIENT_ID = /^[\x21-\x7e]{1,255}$/

/**
 * Makes a session for an operator's admin client of MAS: an access token of the client credentials
 * grant (RFC 6749 section 4.4, client_secret_basic) with the admin API's scope alone, which is no
 * user's and on no device. The client secret is kept with the token, so that mxtok gets the next
 * token when this one expires or is refused (find-session.ts); the token is checked against the
 * admin API before it is kept. Journalled like any login: a run killed with the token in hand leaves
 * an entry `mxtok doctor` reports (the token ends by itself within minutes).
 */
export async function createClientSession(opts: ClientCreateOptions, deps: Deps): Promise<Session> {
  const name = validateSessionName(opts.name)
  if (!CLIENT_ID.test(opts.clientId)) throw usageError('--client-id is not a client ID: give the ID the client has in the configuration of MAS')
  const homeserver = parseHomeserverUrl(opts.homeserver)
  deps.client(homeserver).assertSendable()
  const store = deps.store(opts.store ?? DEFAULT_STORE)
  const [checked, asked] = await Promise.allSettled([store.check(), oauthMetadata(homeserver, {forced: true}, deps)])
  if (checked.status === 'rejected') throw checked.reason
  if (asked.status === 'rejected') throw asked.reason
  const metadata = asked.value!
  const issuer = new URL(metadata.issuer).host
  if (metadata.grantTypes && !metadata.grantTypes.includes(CLIENT_CREDENTIALS_GRANT))
    throw new MxtokError('homeserver', `the sign-in service ${issuer} of ${homeserver.host} offers no client credentials grant, which an admin client needs`)
  const secret = await opts.clientSecret()
  const client: ClientCredentials = {id: opts.clientId, secret}
  const grant: OAuthGrant & {admin: true} = {issuer: metadata.issuer, clientId: client.id, tokenEndpoint: metadata.tokenEndpoint.href, admin: true}
  if (metadata.revocationEndpoint) grant.revocationEndpoint = metadata.revocationEndpoint.href
  const hsKey = homeserverKey(homeserver)
  const userId = clientAccount(client.id)
  const deviceId = newClientTokenKey(base32(randomBytes(8)).slice(0, 12))
  const oauth = deps.oauth(homeserver)

  return journalledLogin<TokenSet>(
    {
      name,
      homeserver: hsKey,
      store,
      target: {who: userId, deviceId},
      // The token, then a look at the admin API with it.
      takes: {requests: 2},
      kind: {auth: 'client', oauth: grant},
      async obtain(run) {
        let tokens: TokenSet
        try {
          tokens = await run.request(() => oauth.clientCredentials(grant.tokenEndpoint, client, MAS_ADMIN_SCOPE), madeNothing)
        } catch (error) {
          throw refusal(error, client.id, issuer)
        }
        run.hold(tokens)
        if (tokens.badLifetime) throw tokens.badLifetime.withContext('; the new token was revoked')
        try {
          await deps.masAdmin(grant.issuer, tokens.accessToken).siteConfig()
        } catch (error) {
          throw withAdvice(
            error,
            `; the token of client ${client.id} does not reach the admin API of ${issuer} (is its listener's "adminapi" resource on?), and was revoked`,
          )
        }
        const session: AdminClientSession = {
          name,
          userId,
          homeserver: hsKey,
          deviceId,
          createdAt: deps.now().toISOString(),
          store: store.kind,
          auth: 'client',
          oauth: grant,
        }
        return {session, secret: encodeClientTokens(tokens, secret, deps.now())}
      },
      end: (tokens) => endTokens(hsKey, grant, {accessToken: tokens.accessToken, refreshToken: null, clientSecret: secret, expiresAt: null}, deps),
      endFailed: (message) => `could not revoke a token of client ${client.id} that mxtok could not keep (${message}); it ends by itself at its expiry`,
      stranded: () =>
        `a token of client ${client.id} may have been issued that nobody holds; it ends by itself within minutes ("mxtok doctor" lists it meanwhile)`,
    },
    deps,
  )
}

/** The token endpoint's refusal, as what the operator should fix. */
function refusal(error: unknown, clientId: string, issuer: string): unknown {
  if (!(error instanceof MatrixError)) return error
  if (error.errcode === 'invalid_client')
    return new MxtokError(
      'loginRefused',
      `${issuer} refused client ${clientId} with this secret (invalid_client): check the ID and the secret against the "clients" of its configuration (client_auth_method: client_secret_basic)`,
      {cause: error},
    )
  if (error.errcode === 'invalid_scope' || error.errcode === 'unauthorized_client')
    return new MxtokError(
      'loginRefused',
      `${issuer} does not let client ${clientId} use its admin API (${error.errcode}): add the client to policy.data.admin_clients in its configuration`,
      {cause: error},
    )
  return error
}

const withAdvice = (error: unknown, context: string) => (error instanceof MatrixError || error instanceof MxtokError ? error.withContext(context) : error)
