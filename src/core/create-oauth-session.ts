import {MxtokError, usageError} from '../errors.js'
import {deriveDeviceId} from '../matrix/device-id.js'
import {LocalErrcode, MatrixError} from '../matrix/errors.js'
import {homeserverKey} from '../matrix/homeserver-url.js'
import {type AuthMetadata, DEVICE_CODE_GRANT, type DeviceAuthorization, MAS_ADMIN_SCOPE, type TokenSet} from '../matrix/oauth-client.js'
import type {UserId} from '../matrix/user-id.js'
import {type OAuthGrant, oauthGrant, type Session} from '../registry/session.js'
import type {SecretStore} from '../store/secret-store.js'
import type {Deps} from './deps.js'
import {assertDeviceFree, DEVICE_TAKEN, journalledLogin, type LoginRun} from './journalled-login.js'
import {endTokens, retireReplaced} from './revoke-session.js'
import {decodeSecret, encodeTokenPair} from './session-secret.js'

/** What the user needs to approve the login in a browser: meant to be shown, unlike the device code. */
export interface DeviceCodePrompt {
  userId: string
  userCode: string
  verificationUri: string
  /** The URI with the code filled in, when the server offers one: what a QR code should carry. */
  verificationUriComplete: string | null
  expiresInS: number
}

export interface OAuthCreateOptions {
  name: string
  user: UserId
  homeserver: URL
  store: SecretStore
  metadata: AuthMetadata
  deviceId?: string
  deviceName?: string
  /** Ask for MAS's admin API scope too (urn:mas:admin), which MAS grants to a user it lets request admin. */
  admin?: boolean
  showCode?: (prompt: DeviceCodePrompt) => void | Promise<void>
  /** Waits between polls; tests pass one that does not really wait. */
  sleep?: (ms: number) => Promise<void>
}

/**
 * The client mxtok registers (RFC 7591, with the fields MSC2966 asks of Matrix clients). A public
 * native client: no secret to keep, no redirect URI, since the device grant needs neither. MAS
 * hands back the same client_id for the same metadata, so creates do not pile up clients.
 */
export const CLIENT_METADATA = {
  client_name: 'mxtok',
  client_uri: 'https://www.npmjs.com/package/mxtok',
  grant_types: [DEVICE_CODE_GRANT, 'refresh_token'],
  token_endpoint_auth_method: 'none',
  application_type: 'native',
}

/** RFC 8628 section 3.5: each slow_down adds 5 seconds to the polling interval. */
export const SLOW_DOWN_MS = 5000

/** The C-S API scope and the device scope: asking for a device by ID is how the device ID is chosen. */
export const deviceScope = (deviceId: string) => `urn:matrix:client:api:* urn:matrix:client:device:${deviceId}`

export {MAS_ADMIN_SCOPE}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Says whether create should use next-generation auth: always with --oauth (and then the server
 * must offer it), otherwise when the homeserver offers no password login but advertises OAuth 2.0.
 * Returns the authorization server's metadata, or null for a password login as before.
 */
export async function oauthMetadata(homeserver: URL, opts: {forced?: boolean}, deps: Deps): Promise<AuthMetadata | null> {
  const oauth = deps.oauth(homeserver)
  if (!opts.forced) {
    let flows: string[] = []
    try {
      flows = await oauth.loginFlows()
    } catch (error) {
      // Synapse in its MAS mode answers /login with 404 M_UNRECOGNIZED (MAS serves it in a real
      // deployment, this server may have none): its auth metadata decides. Any other answer that
      // is not the login types is left to the password login to judge, as before.
      const noLogin = error instanceof MatrixError && (error.status === 404 || error.errcode === 'M_UNRECOGNIZED')
      if (!noLogin && error instanceof MatrixError && error.status > 0) return null
      if (!noLogin) throw error
    }
    if (flows.includes('m.login.password')) return null
  }
  try {
    return await oauth.authMetadata()
  } catch (error) {
    const absent = error instanceof MatrixError && (error.status === 404 || error.errcode === 'M_UNRECOGNIZED')
    if (absent && opts.forced)
      throw usageError(
        `${homeserver.host} does not offer next-generation auth (no OAuth 2.0 metadata at /_matrix/client/v1/auth_metadata); create without --oauth to log in with a password`,
      )
    if (absent) return null
    throw error
  }
}

/**
 * Creates a session through the OAuth 2.0 device authorization grant (RFC 8628): registers mxtok as
 * a client, asks for a code bound to the session's device, shows where to approve it, and polls until
 * the user has. The refresh token is kept with the access token, so the session outlives the access
 * token's short life. MAS does not end other sessions on the same device when a new one takes it, so
 * the session this one replaces is revoked here once the new one is stored.
 */
export async function createOAuthSession(opts: OAuthCreateOptions, deps: Deps): Promise<Session> {
  const {name, user, homeserver, store, metadata} = opts
  const issuer = new URL(metadata.issuer).host
  if (!metadata.registrationEndpoint || !metadata.deviceAuthorizationEndpoint || (metadata.grantTypes && !metadata.grantTypes.includes(DEVICE_CODE_GRANT))) {
    throw new MxtokError(
      'homeserver',
      `${homeserver.host} offers no password login, and its sign-in service ${issuer} no device authorization grant with client registration, which mxtok needs; ask its admin to enable them, or to allow password logins`,
    )
  }
  const deviceId = opts.deviceId ?? deriveDeviceId(user.full, name)
  // MAS grants device scopes only for IDs of 10 characters or more; it would refuse later, in the browser.
  if (deviceId.length < 10) throw usageError(`--device-id "${deviceId}" is too short for a sign-in through ${issuer}: use at least 10 characters`)
  if (opts.deviceName !== undefined) deps.warn(`--device-name is not used: with next-generation auth the sign-in service names the device`)
  const hsKey = homeserverKey(homeserver)
  // Before anything is asked of the sign-in service (journalledLogin asks again before journalling).
  assertDeviceFree(await deps.registry.list(), name, hsKey, {who: user.full, deviceId}, DEVICE_TAKEN)
  const oauth = deps.oauth(homeserver)
  const clientId = await oauth.registerClient(metadata.registrationEndpoint, CLIENT_METADATA)
  const grant: OAuthGrant = {issuer: metadata.issuer, clientId, tokenEndpoint: metadata.tokenEndpoint.href}
  if (metadata.revocationEndpoint) grant.revocationEndpoint = metadata.revocationEndpoint.href
  if (opts.admin) grant.admin = true
  const scope = opts.admin ? `${MAS_ADMIN_SCOPE} ${deviceScope(deviceId)}` : deviceScope(deviceId)
  const code = await oauth.deviceAuthorization(metadata.deviceAuthorizationEndpoint, clientId, scope)

  return journalledLogin<TokenSet>(
    {
      name,
      homeserver: hsKey,
      store,
      target: {who: user.full, deviceId},
      // Polled until the code expires (MAX_CODE_LIFE_S at most); then the poll under way, whoami, and one to spare.
      takes: {requests: 3, waitMs: code.expiresInS * 1000},
      kind: {auth: 'oauth', oauth: grant},
      async obtain(run) {
        const prompt = {
          userId: user.full,
          userCode: code.userCode,
          verificationUri: code.verificationUri,
          verificationUriComplete: code.verificationUriComplete,
          expiresInS: code.expiresInS,
        }
        await (opts.showCode ?? ((p: DeviceCodePrompt) => deps.warn(`open ${p.verificationUri} and enter the code ${p.userCode}`)))(prompt)
        const tokens = await pollForTokens(code, grant, opts.sleep ?? sleepFor, run, {user, homeserver, issuer}, deps)
        if (tokens.badLifetime) throw tokens.badLifetime.withContext('; the new session was revoked')
        if (tokens.refreshToken === null)
          throw new MatrixError({
            status: 200,
            errcode: LocalErrcode.badResponse,
            message: `${issuer} issued no refresh token, so the session would die within minutes; the new session was revoked`,
          })
        const who = await deps.client(homeserver).whoami(tokens.accessToken)
        if (who.userId !== user.full) {
          throw new MxtokError(
            'loginRefused',
            `the browser signed in as ${who.userId}, not ${user.full}; the new session was revoked — run create again and sign in as ${user.full}, or give --user ${who.userId}`,
          )
        }
        if (who.deviceId !== deviceId) {
          throw new MatrixError({
            status: 200,
            errcode: LocalErrcode.badResponse,
            message: `${homeserver.host} gave the session device ${who.deviceId ?? '(none)'} instead of the requested ${deviceId}, so mxtok cannot manage it (the new session was revoked)`,
          })
        }
        const session: Session = {
          name,
          userId: user.full,
          homeserver: hsKey,
          deviceId,
          createdAt: deps.now().toISOString(),
          store: store.kind,
          auth: 'oauth',
          oauth: grant,
        }
        return {session, secret: encodeTokenPair({...tokens, refreshToken: tokens.refreshToken}, deps.now())}
      },
      end: (tokens) => endTokens(hsKey, grant, {accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, clientSecret: null, expiresAt: null}, deps),
      endFailed: (message) => `could not revoke a session that mxtok could not keep (${message})`,
      stranded: (p) =>
        `device ${p.deviceId} of ${p.userId} may hold a session nobody has; "mxtok doctor" lists it, and your account's list of sessions can end it`,
      async sameDevice(old, oldSecret) {
        if (old.store !== store.kind) return retireReplaced(old, deps)
        if (oldSecret === null) return
        // MAS keeps the previous session alive beside the new one, so it is ended here; the
        // device itself stays, since the new session holds it.
        try {
          await endTokens(old.homeserver, oauthGrant(old), decodeSecret(oldSecret, `the replaced session "${name}"`), deps)
        } catch (error) {
          deps.warn(`the replaced session "${name}" could not be ended on the server (${(error as Error).message}); end it in your account's list of sessions`)
        }
      },
    },
    deps,
  )
}

// These answers say that no session was created; any other may not.
const nothingMade = (error: unknown) =>
  error instanceof MatrixError && ['authorization_pending', 'slow_down', 'access_denied', 'expired_token'].includes(error.errcode)

interface PollContext {
  user: UserId
  homeserver: URL
  issuer: string
}

/** Polls the token endpoint at the interval the server asks for, until the user has approved or refused, or the code expired. */
async function pollForTokens(
  code: DeviceAuthorization,
  grant: OAuthGrant,
  sleep: (ms: number) => Promise<void>,
  run: LoginRun<TokenSet>,
  ctx: PollContext,
  deps: Deps,
): Promise<TokenSet> {
  const oauth = deps.oauth(ctx.homeserver)
  const deadline = deps.now().getTime() + code.expiresInS * 1000
  const minutes = Math.max(1, Math.round(code.expiresInS / 60))
  const expired = () =>
    new MxtokError(
      'loginRefused',
      `the code ${code.userCode} expired before the sign-in was approved; run create again and approve it within ${minutes} minute${minutes === 1 ? '' : 's'}`,
    )
  let interval = code.intervalS * 1000
  for (;;) {
    await sleep(interval)
    if (deps.now().getTime() >= deadline) throw expired()
    try {
      const tokens = await run.request(() => oauth.pollToken(grant.tokenEndpoint, grant.clientId, code.deviceCode), nothingMade)
      run.hold(tokens)
      return tokens
    } catch (error) {
      if (!(error instanceof MatrixError)) throw error
      if (error.errcode === 'authorization_pending') continue
      if (error.errcode === 'slow_down') {
        interval += SLOW_DOWN_MS
        continue
      }
      if (error.errcode === 'access_denied')
        throw new MxtokError('loginRefused', `the sign-in of ${ctx.user.full} was refused at ${ctx.issuer}; nothing was created — run create again to retry`, {
          cause: error,
        })
      if (error.errcode === 'expired_token') throw expired()
      throw error
    }
  }
}
