import {isAccessToken} from './access-token.js'
import {checked, field, lifetime, malformed, stringField} from './answer-fields.js'
import {isDeviceId} from './device-id.js'
import type {MatrixError} from './errors.js'
import {assertSendable, type HttpOptions, requestJson} from './http.js'

export interface LoginResult {
  userId: string
  accessToken: string
  deviceId: string
  /** Given when asked for (and the server hands them out). */
  refreshToken: string | null
  /** How long the access token lives; null when it does not expire. */
  expiresInMs: number | null
  /** The answer's lifetime was none (see answer-fields.ts lifetime): to throw once the live token is held. */
  badLifetime?: MatrixError
}

/** What POST /v3/refresh answers: a new access token, the refresh token that replaces the old one (if it rotates), and the new token's life. */
export interface RefreshedTokens {
  accessToken: string
  refreshToken: string | null
  expiresInS: number | null
  /** As LoginResult's: the tokens are live all the same, and the old refresh token may be spent. */
  badLifetime?: MatrixError
}

export interface Whoami {
  userId: string
  deviceId: string | null
}

export interface Device {
  deviceId: string
  displayName: string | null
  lastSeenIp: string | null
  lastSeenTs: number | null
}

export interface PasswordLogin {
  user: string
  password: string
  deviceId: string
  displayName: string
  /** Asks for a refresh token: only where the server expires access tokens, since the access token then expires whatever is asked. */
  refreshToken?: boolean
}

/**
 * The largest device list read: an account whose devices pile up (a bot logging in without a device
 * ID at each start) has tens of thousands, at 250-400 bytes each as Synapse sends them, up to about
 * 1 KiB with a long, escaped display name. 32 MiB holds 80,000 typical entries and 30,000 of the
 * longest, and bounds what a list costs in memory; every other answer stays within MAX_BODY_BYTES.
 */
export const DEVICE_LIST_MAX_BYTES = 32 * 1024 * 1024

/** How long the server's name is waited for: it is asked beside other requests, and must not hold them up. */
const PROBE_TIMEOUT_MS = 5000

/** One method per Client-Server API endpoint mxtok uses; nothing else. */
export class MatrixClient {
  readonly baseUrl: URL

  constructor(
    baseUrl: string | URL,
    private readonly http: HttpOptions = {},
  ) {
    this.baseUrl = new URL(baseUrl)
  }

  /** Refuses now what every request to this homeserver would be refused: before the user is asked for anything. */
  assertSendable(): void {
    assertSendable(this.baseUrl, this.http)
  }

  /** GET /_matrix/client/versions */
  async versions(): Promise<string[]> {
    const {body} = await this.send('GET', '/_matrix/client/versions')
    const versions = field(body, 'versions', this.baseUrl)
    if (!Array.isArray(versions) || !versions.every((v) => typeof v === 'string')) throw malformed(this.baseUrl, 'versions')
    return versions
  }

  /**
   * GET /_matrix/federation/v1/version: the name the server gives its software, or null when it
   * gives none (federation off, a proxy that routes only the client API, any failure). Only a hint
   * that may save requests, so it never fails and waits at most PROBE_TIMEOUT_MS.
   */
  async serverSoftware(): Promise<string | null> {
    const url = new URL(`${this.baseUrl.href.replace(/\/+$/, '')}/_matrix/federation/v1/version`)
    const timeoutMs = Math.min(this.http.timeoutMs ?? PROBE_TIMEOUT_MS, PROBE_TIMEOUT_MS)
    try {
      const {body} = await requestJson({method: 'GET', url}, {...this.http, timeoutMs})
      const name = (field(body, 'server', this.baseUrl) as Record<string, unknown>).name
      return typeof name === 'string' ? name : null
    } catch {
      return null
    }
  }

  /** POST /v3/login with m.login.password and a chosen device ID. */
  async login(req: PasswordLogin): Promise<LoginResult> {
    const {body} = await this.send('POST', '/_matrix/client/v3/login', undefined, {
      type: 'm.login.password',
      identifier: {type: 'm.id.user', user: req.user},
      password: req.password,
      device_id: req.deviceId,
      initial_device_display_name: req.displayName,
      ...(req.refreshToken ? {refresh_token: true} : {}),
    })
    const {refreshToken, expiresInMs, badLifetime} = this.tokenLife(body)
    return {
      userId: stringField(body, 'user_id', this.baseUrl),
      accessToken: checked(stringField(body, 'access_token', this.baseUrl), isAccessToken, this.baseUrl, 'access_token'),
      deviceId: checked(stringField(body, 'device_id', this.baseUrl), isDeviceId, this.baseUrl, 'device_id'),
      refreshToken,
      expiresInMs,
      ...(badLifetime ? {badLifetime} : {}),
    }
  }

  /** POST /v3/refresh: a new access token for a refresh token; the old refresh token stops working once the new pair is used. */
  async refresh(refreshToken: string): Promise<RefreshedTokens> {
    const {body} = await this.send('POST', '/_matrix/client/v3/refresh', undefined, {refresh_token: refreshToken})
    const accessToken = checked(stringField(body, 'access_token', this.baseUrl), isAccessToken, this.baseUrl, 'access_token')
    const {refreshToken: rotated, expiresInMs, badLifetime} = this.tokenLife(body)
    return {accessToken, refreshToken: rotated, expiresInS: expiresInMs === null ? null : expiresInMs / 1000, ...(badLifetime ? {badLifetime} : {})}
  }

  /** GET /v3/account/whoami */
  async whoami(token: string): Promise<Whoami> {
    const {body} = await this.send('GET', '/_matrix/client/v3/account/whoami', token)
    const deviceId = (body as Record<string, unknown>).device_id
    return {
      userId: stringField(body, 'user_id', this.baseUrl),
      deviceId: typeof deviceId === 'string' ? checked(deviceId, isDeviceId, this.baseUrl, 'device_id') : null,
    }
  }

  /** GET /v3/devices */
  async devices(token: string): Promise<Device[]> {
    const {body} = await this.send('GET', '/_matrix/client/v3/devices', token, undefined, DEVICE_LIST_MAX_BYTES)
    return this.parseDevices(body)
  }

  /** GET /_synapse/admin/v2/users/{userId}/devices: another user's devices, with a server admin's token (Synapse only). */
  async adminDevices(adminToken: string, userId: string): Promise<Device[]> {
    const {body} = await this.send('GET', `/_synapse/admin/v2/users/${encodeURIComponent(userId)}/devices`, adminToken, undefined, DEVICE_LIST_MAX_BYTES)
    return this.parseDevices(body)
  }

  /** POST /_synapse/admin/v2/users/{userId}/delete_devices: deletes them with every token on them, no User-Interactive Auth (Synapse only). */
  async adminDeleteDevices(adminToken: string, userId: string, deviceIds: string[]): Promise<void> {
    await this.send('POST', `/_synapse/admin/v2/users/${encodeURIComponent(userId)}/delete_devices`, adminToken, {devices: deviceIds})
  }

  /** PUT /v3/devices/{deviceId}: sets the device's display name. */
  async setDeviceDisplayName(token: string, deviceId: string, displayName: string): Promise<void> {
    await this.send('PUT', `/_matrix/client/v3/devices/${encodeURIComponent(deviceId)}`, token, {display_name: displayName})
  }

  /**
   * POST /v3/delete_devices: deletes the devices with every token on them. Needs User-Interactive
   * Auth: without `auth` the server answers 401 with the flows it accepts (see uia.ts).
   */
  async deleteDevices(token: string, deviceIds: string[], auth?: Record<string, unknown>): Promise<void> {
    await this.send('POST', '/_matrix/client/v3/delete_devices', token, auth ? {devices: deviceIds, auth} : {devices: deviceIds})
  }

  /**
   * POST /_synapse/admin/v1/users/{userId}/login: a token for another user, made with a server
   * admin's token. Synapse's admin API only: the token has no device, and dies at `validUntilMs`
   * (never without it).
   */
  async adminLogin(adminToken: string, userId: string, validUntilMs?: number): Promise<string> {
    const {body} = await this.send(
      'POST',
      `/_synapse/admin/v1/users/${encodeURIComponent(userId)}/login`,
      adminToken,
      validUntilMs === undefined ? {} : {valid_until_ms: validUntilMs},
    )
    return checked(stringField(body, 'access_token', this.baseUrl), isAccessToken, this.baseUrl, 'access_token')
  }

  /** POST /v3/logout: kills the token and deletes its device with every token on it. */
  async logout(token: string): Promise<void> {
    await this.send('POST', '/_matrix/client/v3/logout', token, {})
  }

  private tokenLife(body: unknown): {refreshToken: string | null; expiresInMs: number | null; badLifetime?: MatrixError} {
    const refresh = (body as Record<string, unknown>).refresh_token
    const {ms, problem} = lifetime(body, 'expires_in_ms', 1, this.baseUrl)
    return {
      refreshToken: typeof refresh === 'string' && isAccessToken(refresh) ? refresh : null,
      expiresInMs: ms,
      ...(problem ? {badLifetime: problem} : {}),
    }
  }

  private parseDevices(body: unknown): Device[] {
    const devices = field(body, 'devices', this.baseUrl)
    if (!Array.isArray(devices)) throw malformed(this.baseUrl, 'devices')
    return devices.map((d) => {
      if (!d || typeof d !== 'object' || typeof d.device_id !== 'string') throw malformed(this.baseUrl, 'devices[].device_id')
      return {
        deviceId: d.device_id,
        displayName: typeof d.display_name === 'string' ? d.display_name : null,
        lastSeenIp: typeof d.last_seen_ip === 'string' ? d.last_seen_ip : null,
        lastSeenTs: typeof d.last_seen_ts === 'number' ? d.last_seen_ts : null,
      }
    })
  }

  private send(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, token?: string, body?: unknown, maxBodyBytes?: number) {
    const url = new URL(this.baseUrl.href.replace(/\/+$/, '') + path)
    return requestJson({method, url, token, body, maxBodyBytes}, this.http)
  }
}
