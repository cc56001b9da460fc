import {assertNever} from '../errors.js'
import type {StoreKind} from '../store/store-kinds.js'

/** The non-secret half of an OAuth 2.0 session: which authorization server and client issued its tokens. */
export interface OAuthGrant {
  issuer: string
  clientId: string
  tokenEndpoint: string
  /** Missing when the server offers no RFC 7009 revocation. */
  revocationEndpoint?: string
  /** The grant has the admin API's scope of MAS (urn:mas:admin) besides the client API's: an admin user's session, for `--as`. */
  admin?: true
}

/**
 * mxtok's own key for a token that is on no device (an admin login's), where a device ID would be:
 * it names the token in the store, and no server knows it. Made only by newAdminLoginKey, so that
 * an admin login cannot be given a real device.
 */
export type AdminLoginKey = string & {readonly adminLoginKey: true}

interface SessionBase {
  name: string
  userId: string
  /** Homeserver base URL, without a trailing slash. */
  homeserver: string
  deviceId: string
  createdAt: string
  store: StoreKind
  /** When the server stops accepting the token, if it said (ISO 8601). */
  expiresAt?: string
}

/**
 * A token on a device, from a password login or imported (from Element, a curl login): mxtok ends
 * it with /logout, and refreshes it with /refresh when it came with a refresh token. The registry
 * has never told the two apart, and nothing mxtok does differs between them.
 */
export interface PasswordSession extends SessionBase {
  auth: 'password'
}

/** A device grant of next-generation auth: refreshed and revoked at its authorization server. */
export interface OAuthSession extends SessionBase {
  auth: 'oauth'
  oauth: OAuthGrant
}

/** A server admin's login as this user: a token on no device, which ends at `expiresAt` or when `admin.by` logs out everywhere. */
export interface AdminSession extends SessionBase {
  auth: 'admin'
  deviceId: AdminLoginKey
  admin: {by: string}
}

/** What mxtok knows about a session, by how its token was obtained. Never the token: that lives in the secret store. */
export type Session = PasswordSession | OAuthSession | AdminSession

interface PendingBase {
  userId: string
  deviceId: string
  homeserver: string
  store: StoreKind
  since: string
}

/** A password login. */
export interface PendingPasswordLogin extends PendingBase {
  auth: 'password'
  /** The session being created: what `mxtok doctor` tells the user to create again (older mxtok did not record it). */
  name?: string
}

/** A device grant under way: its grant is what `mxtok doctor --fix` needs to revoke a token it left behind. */
export interface PendingOAuthLogin extends PendingBase {
  auth: 'oauth'
  oauth: OAuthGrant
}

/**
 * An admin login under way: its token would be on no device, so nothing can find it; it ends at
 * `admin.expiresAt` (never, without one) or when `admin.by` logs out everywhere. `admin.session` is the admin's.
 */
export interface PendingAdminLogin extends PendingBase {
  auth: 'admin'
  name?: string
  deviceId: AdminLoginKey
  admin: {by: string; session: string; expiresAt?: string}
}

/**
 * A device mxtok is about to log in to, written before the login and removed in the same update
 * that records the session. One left behind means a run was killed half-way: `mxtok doctor`
 * reports it, since its device may hold a token that nobody has.
 */
export type PendingLogin = PendingPasswordLogin | PendingOAuthLogin | PendingAdminLogin

/** The device the session's token is on, as the server knows it; null for an admin login's, which is on none. */
export function tokenDevice(session: Session): string | null {
  switch (session.auth) {
    case 'password':
    case 'oauth':
      return session.deviceId
    case 'admin':
      return null
    default:
      return assertNever(session, 'kind of session')
  }
}

/** The session's OAuth grant, or undefined where its tokens are not refreshed and revoked at an authorization server. */
export function oauthGrant(session: Session | PendingLogin): OAuthGrant | undefined {
  switch (session.auth) {
    case 'oauth':
      return session.oauth
    case 'password':
    case 'admin':
      return undefined
    default:
      return assertNever(session, 'kind of session')
  }
}

/** A new key for an admin login's token in the store, unique per login. */
export const newAdminLoginKey = (unique: string) => `ADMIN${unique}` as AdminLoginKey

/** The server admin who made an admin login; undefined for a login of the user's own. */
export function madeBy(session: Session): string | undefined {
  switch (session.auth) {
    case 'admin':
      return session.admin.by
    case 'password':
    case 'oauth':
      return undefined
    default:
      return assertNever(session, 'kind of session')
  }
}
