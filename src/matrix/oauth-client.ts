import {lifetime, malformed, positiveNumber, stringField} from './answer-fields.js'
import {MatrixError} from './errors.js'
import {assertSendable, type HttpOptions, requestJson} from './http.js'

export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code'

/** What mxtok uses of the homeserver's OAuth 2.0 authorization server metadata (RFC 8414). */
export interface AuthMetadata {
  issuer: string
  tokenEndpoint: URL
  registrationEndpoint: URL | null
  deviceAuthorizationEndpoint: URL | null
  revocationEndpoint: URL | null
  /** null when the server does not say. */
  grantTypes: string[] | null
}

/** An answer to a device authorization request (RFC 8628 section 3.2). */
export interface DeviceAuthorization {
  deviceCode: string
  userCode: string
  verificationUri: string
  verificationUriComplete: string | null
  expiresInS: number
  intervalS: number
}

/**
 * Bounds on what a device authorization answer asks of mxtok's polling, whatever the server says: a
 * poll at most every second (a tiny interval would flood the user's own homeserver) and at least
 * every minute (a huge one would overflow Node's timer into a poll every millisecond), and polling
 * for 30 minutes at most (MAS's codes last 20), so that create always ends.
 */
export const MIN_POLL_INTERVAL_S = 1
export const MAX_POLL_INTERVAL_S = 60
export const MAX_CODE_LIFE_S = 30 * 60
/**
 * And on its lengths: a user code is typed by a person (RFC 8628 suggests 8 characters), and the
 * device code and the links, sent or shown, get the length of a long URL.
 */
export const MAX_USER_CODE_CHARS = 256
export const MAX_CODE_CHARS = 8192

/** A token endpoint's answer (RFC 6749 section 5.1). */
export interface TokenSet {
  accessToken: string
  refreshToken: string | null
  /** null when the server gives no lifetime. */
  expiresInS: number | null
  /** The answer's lifetime was none (see answer-fields.ts lifetime): to throw once the live tokens are held. */
  badLifetime?: MatrixError
}

export type TokenHint = 'access_token' | 'refresh_token'

/** A confidential client's ID and secret (an operator's admin client of MAS). */
export interface ClientCredentials {
  id: string
  secret: string
}

export const CLIENT_CREDENTIALS_GRANT = 'client_credentials'

/** The scope of MAS's admin API (api/admin/v1). */
export const MAS_ADMIN_SCOPE = 'urn:mas:admin'

/**
 * An OAuth error that says a session's tokens are dead for good: its grant was ended
 * (invalid_grant), or the issuer no longer knows the client they were issued to (invalid_client:
 * mxtok is a public client, authenticated by its client_id alone, so that is the only reason).
 */
export const isEndedSession = (error: unknown): error is MatrixError =>
  error instanceof MatrixError && (error.errcode === 'invalid_grant' || error.errcode === 'invalid_client')

/**
 * The next-generation auth endpoints: two on the homeserver that say how to log in, the others on
 * the authorization server its metadata names. One method per endpoint. Errors are MatrixError;
 * OAuth errors keep their `error` code as `errcode` (e.g. 'authorization_pending').
 */
export class OAuthClient {
  readonly baseUrl: URL

  constructor(
    baseUrl: string | URL,
    private readonly http: HttpOptions = {},
  ) {
    this.baseUrl = new URL(baseUrl)
  }

  /** GET /_matrix/client/v3/login: the login types the homeserver offers. */
  async loginFlows(): Promise<string[]> {
    const {body} = await requestJson({method: 'GET', url: this.homeserverUrl('/_matrix/client/v3/login')}, this.http)
    const flows = (body as Record<string, unknown>).flows
    if (!Array.isArray(flows)) throw malformed(this.baseUrl, 'flows', 'oauth')
    return flows.flatMap((f) => (f && typeof f === 'object' && typeof f.type === 'string' ? [f.type as string] : []))
  }

  /** GET /_matrix/client/v1/auth_metadata; a homeserver without next-generation auth answers 404 M_UNRECOGNIZED. */
  async authMetadata(): Promise<AuthMetadata> {
    const {body} = await requestJson({method: 'GET', url: this.homeserverUrl('/_matrix/client/v1/auth_metadata')}, this.http)
    const b = body as Record<string, unknown>
    if (typeof b.issuer !== 'string' || b.issuer === '') throw malformed(this.baseUrl, 'issuer', 'oauth')
    const endpoint = (name: string) => (b[name] === undefined || b[name] === null ? null : endpointUrl(b[name], name, this.baseUrl, this.http))
    const tokenEndpoint = endpoint('token_endpoint')
    if (tokenEndpoint === null) throw malformed(this.baseUrl, 'token_endpoint', 'oauth')
    const grants = b.grant_types_supported
    return {
      issuer: b.issuer,
      tokenEndpoint,
      registrationEndpoint: endpoint('registration_endpoint'),
      deviceAuthorizationEndpoint: endpoint('device_authorization_endpoint'),
      revocationEndpoint: endpoint('revocation_endpoint'),
      grantTypes: Array.isArray(grants) ? grants.filter((g): g is string => typeof g === 'string') : null,
    }
  }

  /** POST registration_endpoint (RFC 7591): registers a client and returns its client_id. */
  async registerClient(endpoint: string | URL, metadata: Record<string, unknown>): Promise<string> {
    const url = new URL(endpoint)
    const {body} = await requestJson({method: 'POST', url, body: metadata}, this.http)
    return stringField(body, 'client_id', url, 'oauth')
  }

  /** POST device_authorization_endpoint (RFC 8628 section 3.1). */
  async deviceAuthorization(endpoint: string | URL, clientId: string, scope: string): Promise<DeviceAuthorization> {
    const url = new URL(endpoint)
    const {body} = await requestJson({method: 'POST', url, form: {client_id: clientId, scope}}, this.http)
    const b = body as Record<string, unknown>
    const complete = b.verification_uri_complete
    const interval = b.interval
    const bounded = (name: string, max: number) => {
      const value = stringField(body, name, url, 'oauth')
      if (value.length > max) throw malformed(url, name, 'oauth')
      return value
    }
    return {
      deviceCode: bounded('device_code', MAX_CODE_CHARS),
      userCode: bounded('user_code', MAX_USER_CODE_CHARS),
      verificationUri: bounded('verification_uri', MAX_CODE_CHARS),
      verificationUriComplete: typeof complete === 'string' && complete !== '' ? bounded('verification_uri_complete', MAX_CODE_CHARS) : null,
      expiresInS: Math.min(positiveNumber(body, 'expires_in', url, 'oauth'), MAX_CODE_LIFE_S),
      // RFC 8628 section 3.2: 5 seconds when the server does not say.
      intervalS: typeof interval === 'number' && interval > 0 ? Math.min(Math.max(interval, MIN_POLL_INTERVAL_S), MAX_POLL_INTERVAL_S) : 5,
    }
  }

  /**
   * POST token_endpoint with the device code grant (RFC 8628 section 3.4). Until the user has
   * decided, throws MatrixError with errcode 'authorization_pending' or 'slow_down'; then
   * 'access_denied' or 'expired_token', or answers the tokens.
   */
  async pollToken(endpoint: string | URL, clientId: string, deviceCode: string): Promise<TokenSet> {
    return this.token(endpoint, {grant_type: DEVICE_CODE_GRANT, device_code: deviceCode, client_id: clientId})
  }

  /** POST token_endpoint with the refresh token grant (RFC 6749 section 6); 'invalid_grant' when the session is over. */
  async refresh(endpoint: string | URL, clientId: string, refreshToken: string): Promise<TokenSet> {
    return this.token(endpoint, {grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId})
  }

  /**
   * POST token_endpoint with the client credentials grant (RFC 6749 section 4.4), the client
   * authenticated by HTTP Basic (client_secret_basic): an access token of the client's own, no
   * refresh token. 'invalid_client' for a wrong secret or a client the issuer does not know,
   * 'invalid_scope' for a scope the client may not have.
   */
  async clientCredentials(endpoint: string | URL, client: ClientCredentials, scope: string): Promise<TokenSet> {
    return this.token(endpoint, {grant_type: CLIENT_CREDENTIALS_GRANT, scope}, client)
  }

  /**
   * POST revocation_endpoint (RFC 7009); an unknown or dead token is answered 200 as well, a client
   * the issuer no longer knows 401 invalid_client. A public client names itself in the form, a
   * confidential one (`client` with its secret) authenticates by HTTP Basic.
   */
  async revokeToken(endpoint: string | URL, client: string | ClientCredentials, token: string, hint: TokenHint): Promise<void> {
    const who = typeof client === 'string' ? {form: {client_id: client}} : {client}
    await requestJson({method: 'POST', url: new URL(endpoint), form: {token, token_type_hint: hint, ...who.form}, client: who.client, emptyOk: true}, this.http)
  }

  private async token(endpoint: string | URL, form: Record<string, string>, client?: ClientCredentials): Promise<TokenSet> {
    const url = new URL(endpoint)
    const {body} = await requestJson({method: 'POST', url, form, client}, this.http)
    const b = body as Record<string, unknown>
    if (typeof b.token_type === 'string' && b.token_type.toLowerCase() !== 'bearer') throw malformed(url, 'token_type', 'oauth')
    const refresh = b.refresh_token
    const {ms, problem} = lifetime(body, 'expires_in', 1000, url, 'oauth')
    return {
      accessToken: stringField(body, 'access_token', url, 'oauth'),
      refreshToken: typeof refresh === 'string' && refresh !== '' ? refresh : null,
      expiresInS: ms === null ? null : ms / 1000,
      ...(problem ? {badLifetime: problem} : {}),
    }
  }

  private homeserverUrl(path: string): URL {
    return new URL(this.baseUrl.href.replace(/\/+$/, '') + path)
  }
}

/**
 * An endpoint named by the metadata: refresh tokens and device codes go there, so it gets the
 * same rule as a homeserver URL, and the transport's on plain http:// (assertSendable).
 */
function endpointUrl(value: unknown, name: string, homeserver: URL, http: HttpOptions): URL {
  let url: URL
  try {
    url = new URL(value as string)
  } catch {
    throw malformed(homeserver, name, 'oauth')
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) throw malformed(homeserver, name, 'oauth')
  // Refused here, before a client is registered or a code shown, rather than at the first request there.
  assertSendable(url, http)
  return url
}
