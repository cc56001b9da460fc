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

/**
 * mxtok's own keys for an admin client's token, which is no user's and on no device: `userId` holds
 * "client:" and the client's ID (a Matrix user ID starts with "@", so none is mistaken for one),
 * `deviceId` a key made unique per create ("CLIENT" and 12 characters), so that two sessions of the
 * same client, on one server or two, never share a store entry. Together they name the token in the
 * store (USER/DEVICE, as every store is keyed); no server knows them, and output shows null for both.
 */
export type ClientAccount = string & {readonly clientAccount: true}
export type ClientTokenKey = string & {readonly clientTokenKey: true}

/**
 * An operator's admin client of MAS (OAuth 2.0 client credentials, scope urn:mas:admin): for
 * unattended use of MAS's admin API. Its access token is no user's and on no device; the store keeps
 * it with the client secret, which gets a new one when it expires or is refused, as a refresh token would.
 */
export interface AdminClientSession extends SessionBase {
  auth: 'client'
  userId: ClientAccount
  deviceId: ClientTokenKey
  oauth: OAuthGrant & {admin: true}
}

/**
 * A personal access token of a Matrix Authentication Service (MAS), made for the user through MAS's
 * admin API with an admin session (create --as): on a device, ended and regenerated through the
 * admin API only, never at /logout.
 */
export interface PersonalSession extends SessionBase {
  auth: 'personal'
  /** `id`: the personal session at MAS; `admin`: the local session that made it, which revoke and rotate use unless given --as. */
  personal: {id: string; admin: string}
}

/** What mxtok knows about a session, by how its token was obtained. Never the token: that lives in the secret store. */
export type Session = PasswordSession | OAuthSession | AdminSession | AdminClientSession | PersonalSession

interface PendingBase {
  userId: string
  deviceId: string
  homeserver: string
  store: StoreKind
  since: string
  /**
   * The run that holds the device, and until when (its lease): user@host, process ID, ISO time.
   * Another run leaves the device alone until then; entries of older mxtok have none.
   */
  by?: string
  pid?: number
  until?: string
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

/** An admin client's token under way: unheld, it ends by itself at the end of its short life (MAS's access token lifetime). */
export interface PendingClientLogin extends PendingBase {
  auth: 'client'
  name?: string
  oauth: OAuthGrant & {admin: true}
}

/**
 * A personal token under way at MAS: made by create --as, as the personal session named
 * `humanName` (unique per create), which `mxtok doctor --fix` finds among the user's and revokes
 * with the session `admin`; or regenerated by rotate, as the personal session `id`, whose stored
 * token may then be dead. `issuer`: the MAS whose admin API made it.
 */
export interface PendingPersonalLogin extends PendingBase {
  auth: 'personal'
  name: string
  personal: {admin: string; issuer: string} & ({humanName: string; id?: undefined} | {id: string; humanName?: undefined})
}

/**
 * A device mxtok is about to log in to, written before the login and removed in the same update
 * that records the session. One left behind means a run was killed half-way: `mxtok doctor`
 * reports it, since its device may hold a token that nobody has.
 */
export type PendingLogin = PendingPasswordLogin | PendingOAuthLogin | PendingAdminLogin | PendingClientLogin | PendingPersonalLogin

/** The device the session's token is on, as the server knows it; null for an admin login's or an admin client's, which are on none. */
export function tokenDevice(session: Session): string | null {
  switch (session.auth) {
    case 'password':
    case 'oauth':
    case 'personal':
      return session.deviceId
    case 'admin':
    case 'client':
      return null
    default:
      return assertNever(session, 'kind of session')
  }
}

/** The session's OAuth grant, or undefined where its tokens are not refreshed and revoked at an authorization server. */
export function oauthGrant(session: Session | PendingLogin): OAuthGrant | undefined {
  switch (session.auth) {
    case 'oauth':
    case 'client':
      return session.oauth
    case 'password':
    case 'admin':
    case 'personal':
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
    case 'client':
    case 'personal':
      return undefined
    default:
      return assertNever(session, 'kind of session')
  }
}

/** A new key for an admin client's token in the store, unique per create. */
export const newClientTokenKey = (unique: string) => `CLIENT${unique}` as ClientTokenKey

/** The stand-in user ID of an admin client's session (see ClientAccount). */
export const clientAccount = (clientId: string) => `client:${clientId}` as ClientAccount

/** The user and device a session's token is of, as output shows them: null for an admin client's, which has neither. */
export function tokenOwner(session: Session): {userId: string | null; deviceId: string | null} {
  return session.auth === 'client' ? {userId: null, deviceId: null} : {userId: session.userId, deviceId: session.deviceId}
}

/**
 * What output says of a session whose token reaches MAS's admin API (urn:mas:admin): `masAdmin`
 * "user" for an admin user's OAuth session, "client" for an operator's admin client, with its
 * `clientId`; nothing for any other session.
 */
export function masAdminFields(session: Session): {masAdmin?: 'user' | 'client'; clientId?: string} {
  if (session.auth === 'client') return {masAdmin: 'client', clientId: session.oauth.clientId}
  return oauthGrant(session)?.admin ? {masAdmin: 'user'} : {}
}
