// Answers shaped like those of the Matrix Authentication Service (MAS) and of Synapse delegating
// to it, for nock: what its handlers send (crates/handlers/src/oauth2/*.rs), on the paths its router
// uses. No MAS can run here, so these recorded shapes are what the OAuth code is tested against.
import type {Session} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import type {UnitDeps} from './unit-deps.js'

export const HS = 'https://hs.example'
export const AUTH = 'https://auth.hs.example'
export const ISSUER = `${AUTH}/`
export const CLIENT_ID = '01JQ8RZ3D4Y3N2Q8V6W1K9XG7T'
export const DEVICE_CODE = 'Rk3wX9mPq2LzT7vB5nC8dY4hJ6sA1eGu'
export const USER_CODE = 'QW7ZKP'

export const METADATA = {
  issuer: ISSUER,
  authorization_endpoint: `${AUTH}/authorize`,
  token_endpoint: `${AUTH}/oauth2/token`,
  jwks_uri: `${AUTH}/oauth2/keys.json`,
  registration_endpoint: `${AUTH}/oauth2/registration`,
  scopes_supported: ['openid', 'email'],
  response_types_supported: ['code', 'id_token', 'code id_token'],
  grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code'],
  token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
  revocation_endpoint: `${AUTH}/oauth2/revoke`,
  revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
  introspection_endpoint: `${AUTH}/oauth2/introspect`,
  userinfo_endpoint: `${AUTH}/oauth2/userinfo`,
  code_challenge_methods_supported: ['plain', 'S256'],
  device_authorization_endpoint: `${AUTH}/oauth2/device`,
  account_management_uri: `${AUTH}/account/`,
  prompt_values_supported: ['none', 'login', 'create'],
}

/** MAS's compatibility layer offers SSO and login tokens when password logins are off. */
export const NO_PASSWORD_FLOWS = {flows: [{type: 'm.login.sso', 'org.matrix.msc3824.delegated_oidc_compatibility': true}, {type: 'm.login.token'}]}

export const DEVICE_AUTHORIZATION = {
  device_code: DEVICE_CODE,
  user_code: USER_CODE,
  verification_uri: `${AUTH}/link`,
  verification_uri_complete: `${AUTH}/link?code=${USER_CODE}`,
  expires_in: 1200,
  interval: 5,
}

/** The answers MAS gives a device code poll before and instead of tokens: always HTTP 403. */
export const PENDING = {error: 'authorization_pending', error_description: 'The authorization request is still pending'}
export const SLOW_DOWN = {error: 'slow_down', error_description: 'The interval must be increased by 5 seconds for this and all subsequent requests'}
export const DENIED = {error: 'access_denied', error_description: 'The resource owner or authorization server denied the request.'}
export const EXPIRED = {error: 'expired_token', error_description: 'The "device_code" has expired, and the device authorization session has concluded'}
export const INVALID_GRANT = {error: 'invalid_grant', error_description: 'The provided access grant is invalid, expired, or revoked.'}

/** MAS's token shapes: mat_ access tokens, mar_ refresh tokens, five minutes of access token life. */
export const tokenReply = (n: number, deviceId: string) => ({
  access_token: `mat_access${n}Xq3LmZ8pW2rT6vY9bN4cK7dF1g_1a2B3c`,
  token_type: 'Bearer',
  expires_in: 300,
  refresh_token: `mar_refresh${n}Hs5Jk8Lp2Qw4Er6Ty9Ui1Op3_4d5E6f`,
  scope: `urn:matrix:client:api:* urn:matrix:client:device:${deviceId}`,
})

export const registrationReply = (body: Record<string, unknown>) => ({client_id: CLIENT_ID, client_id_issued_at: 1767322245, ...body})

/** An OAuth session as create records it, with its pair of tokens in the memory store. */
export async function seedOAuthSession(
  deps: UnitDeps,
  s: {name?: string; userId: string; deviceId: string; access: string; refresh: string; expiresAt: string | null},
): Promise<Session> {
  const session: Session = {
    name: s.name ?? 'bot',
    userId: s.userId,
    homeserver: HS,
    deviceId: s.deviceId,
    createdAt: '2026-01-01T00:00:00.000Z',
    store: 'keychain',
    auth: 'oauth',
    oauth: {issuer: ISSUER, clientId: CLIENT_ID, tokenEndpoint: METADATA.token_endpoint, revocationEndpoint: METADATA.revocation_endpoint},
  }
  await deps.registry.update((sessions) => void sessions.set(session.name, session))
  deps.memory.items.set(secretAccount(s.userId, s.deviceId), JSON.stringify({access_token: s.access, refresh_token: s.refresh, expires_at: s.expiresAt}))
  return session
}
