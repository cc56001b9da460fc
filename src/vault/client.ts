import {appRoleLogin, appRoleRequested} from './approle.js'
import {VaultError} from './errors.js'
import {callVault, deniedError, type VaultAnswer, type VaultCall, type VaultEndpoint} from './request.js'
import {readVaultSettings} from './settings.js'
import {findToken} from './token-source.js'

/** What a policy may grant on a path (sys/capabilities-self); "root" grants all, "deny" none. */
export type Capability = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list' | 'sudo'

export interface CapabilityNeed {
  path: string
  capability: Capability
}

export interface TokenInfo {
  /** Seconds left; 0 for a token that does not expire (root). */
  ttl: number
  renewable: boolean
  policies: string[]
  /** The engine's name for the token: `userpass-alice`, `approle`, `token`, `token-NAME`. */
  displayName: string
  /** What the auth method recorded of the login, such as `username` (userpass) and `role_name` (AppRole). */
  meta: Record<string, string>
}

export interface Health {
  /** 200 active, 429 standby, 472 and 473 replication secondaries, 501 not initialised, 503 sealed. */
  status: number
  initialized: boolean
  sealed: boolean
  standby: boolean
  version: string
}

export interface Leader {
  haEnabled: boolean
  isSelf: boolean
  /** The active node's api_addr; empty while there is none. */
  leaderAddress: string
}

/**
 * A connection to the OpenBao/Vault server with a token. The token stays in a private field: it
 * goes into the X-Vault-Token header and nowhere else (not into errors, debug lines or JSON).
 */
export class VaultClient {
  readonly #token: string
  /** The X-Vault-Index of the last answer that carried one: what this client wrote, later calls read. */
  #index?: string
  /** Where the token came from ("BAO_TOKEN", "token file ~/.vault-token", "AppRole approle"), for messages. */
  readonly tokenOrigin: string
  readonly endpoint: VaultEndpoint

  constructor(endpoint: VaultEndpoint, token: string, tokenOrigin: string) {
    this.endpoint = endpoint
    this.#token = token
    this.tokenOrigin = tokenOrigin
  }

  get host(): string {
    return this.endpoint.settings.address.host
  }

  /**
   * One authenticated call. A 403 is told apart: a token the server does not know (expired,
   * revoked) is `badToken`; a valid token without the capability is `denied`, naming both.
   */
  async call(call: Omit<VaultCall, 'token' | 'index'>): Promise<VaultAnswer> {
    try {
      const answer = await callVault(this.endpoint, {...call, token: this.#token, index: this.#index})
      if (answer.index) this.#index = answer.index
      return answer
    } catch (error) {
      if (error instanceof VaultError && error.reason === 'denied' && !(await this.tokenWorks())) throw this.badToken()
      throw error
    }
  }

  async lookupSelf(): Promise<TokenInfo> {
    const {body} = await this.call({method: 'GET', path: 'auth/token/lookup-self', capability: 'read'})
    const data = (body.data ?? {}) as Record<string, unknown>
    return {
      ttl: typeof data.ttl === 'number' ? data.ttl : 0,
      renewable: data.renewable === true,
      policies: Array.isArray(data.policies) ? data.policies.filter((p): p is string => typeof p === 'string') : [],
      displayName: typeof data.display_name === 'string' ? data.display_name : '',
      meta: Object.fromEntries(Object.entries((data.meta ?? {}) as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string')),
    }
  }

  /** Extends the token's lease (by `incrementS` where the role allows it); returns the seconds it now has. */
  async renewSelf(incrementS?: number): Promise<{ttl: number; renewable: boolean}> {
    const body = incrementS === undefined ? {} : {increment: `${incrementS}s`}
    const answer = await this.call({method: 'POST', path: 'auth/token/renew-self', body, capability: 'update'})
    const auth = (answer.body.auth ?? {}) as Record<string, unknown>
    return {ttl: typeof auth.lease_duration === 'number' ? auth.lease_duration : 0, renewable: auth.renewable === true}
  }

  /** The token's capabilities on each path, as the server's policies grant them. */
  async capabilities(paths: string[]): Promise<Record<string, string[]>> {
    const {body} = await this.call({method: 'POST', path: 'sys/capabilities-self', body: {paths}, capability: 'update'})
    const data = (body.data ?? {}) as Record<string, unknown>
    const result: Record<string, string[]> = {}
    for (const path of paths) result[path] = Array.isArray(data[path]) ? (data[path] as unknown[]).filter((c): c is string => typeof c === 'string') : []
    return result
  }

  /**
   * Fails, before anything else is done, naming the first path and capability the token's
   * policies do not grant: a command checks here what it will need, so that a refusal half-way
   * does not leave a login made at the homeserver behind.
   */
  async requireCapabilities(needs: CapabilityNeed[]): Promise<void> {
    const granted = await this.capabilities([...new Set(needs.map((n) => n.path))])
    for (const need of needs) {
      const has = granted[need.path] ?? []
      if (has.includes('root') || (has.includes(need.capability) && !has.includes('deny'))) continue
      throw deniedError(this.host, need.path, need.capability, `the token's capabilities there: ${has.join(', ') || 'none'}`)
    }
  }

  /** Unauthenticated; for doctor. */
  health(): Promise<Health> {
    return readHealth(this.endpoint)
  }

  /** Unauthenticated. For doctor, and to tell a standby from the leader. */
  async leader(): Promise<Leader> {
    const {body} = await callVault(this.endpoint, {method: 'GET', path: 'sys/leader'})
    return {
      haEnabled: body.ha_enabled === true,
      isSelf: body.is_self === true,
      leaderAddress: typeof body.leader_address === 'string' ? body.leader_address : '',
    }
  }

  /** lookup-self needs no policy (the default policy grants it): a 403 there means the token itself is not valid. */
  private async tokenWorks(): Promise<boolean> {
    try {
      await callVault(this.endpoint, {method: 'GET', path: 'auth/token/lookup-self', token: this.#token})
      return true
    } catch (error) {
      if (error instanceof VaultError && error.reason === 'denied') return false
      throw error
    }
  }

  private badToken(): VaultError {
    return new VaultError(
      'badToken',
      403,
      `${this.host} does not accept the token from ${this.tokenOrigin} (expired, revoked, or of another server or namespace); log in again (bao login), or set BAO_TOKEN`,
    )
  }
}

/** sys/health, which needs no token: every status it uses is an answer, not a failure to retry. */
export async function readHealth(endpoint: VaultEndpoint): Promise<Health> {
  const {status, body} = await callVault(endpoint, {method: 'GET', path: 'sys/health', answers: [429, 472, 473, 501, 503]})
  return {
    status,
    initialized: body.initialized === true,
    sealed: body.sealed === true,
    standby: body.standby === true,
    version: typeof body.version === 'string' ? body.version : '',
  }
}

/**
 * The client as the environment configures it: the server from BAO_ADDR (VAULT_ADDR) and the
 * rest of the bao/vault CLIs' variables; the token from an AppRole login when
 * MXTOK_VAULT_ROLE_ID is set (mxtok's own setting, so it wins), else as the CLIs find theirs.
 */
export async function connectVault(env: NodeJS.ProcessEnv, options: Omit<VaultEndpoint, 'settings'> = {}): Promise<VaultClient> {
  const endpoint: VaultEndpoint = {...options, settings: readVaultSettings(env)}
  if (appRoleRequested(env)) {
    const login = await appRoleLogin(endpoint, env)
    return new VaultClient(endpoint, login.token, login.origin)
  }
  const found = await findToken(env, endpoint.settings.address)
  if (!found) {
    throw new VaultError(
      'badToken',
      0,
      `no token for OpenBao/Vault at ${endpoint.settings.address.host}: set BAO_TOKEN (or VAULT_TOKEN), log in with bao login, or set MXTOK_VAULT_ROLE_ID and MXTOK_VAULT_SECRET_ID_FILE for an AppRole login`,
    )
  }
  return new VaultClient(endpoint, found.token, found.origin)
}
