import {connectVault, readHealth} from './client.js'
import {parseVaultLocation} from './location.js'
import type {VaultEndpoint} from './request.js'
import {readVaultSettings} from './settings.js'

/** What doctor says of the OpenBao/Vault server of MXTOK_VAULT. */
export interface EngineCheck {
  /** MXTOK_VAULT as given. */
  location: string
  /** host:port of BAO_ADDR (VAULT_ADDR, BAO_AGENT_ADDR); empty when the settings could not be read. */
  host: string
  /** Reachable, unsealed, and the token accepted. */
  ok: boolean
  version?: string
  sealed?: boolean
  /** The node answering is a standby (it forwards to the active node). */
  standby?: boolean
  token?: {origin: string; ttlSeconds: number; renewable: boolean}
  /** The token's capabilities on the prefix's data and metadata paths, as sys/capabilities-self gives them. */
  capabilities?: Record<string, string[]>
  problem?: string
}

/** Doctor tells what is the case now: an engine that does not answer within this is reported, not waited for. */
const DOCTOR_RETRY_FOR_MS = 5000

/**
 * The engine as MXTOK_VAULT and the bao/vault CLIs' variables name it: reachable, sealed or not
 * (sys/health, no token needed), the token's TTL (auth/token/lookup-self) and what it may do on
 * the prefix (sys/capabilities-self). A capability missing there is no failure: a read-only
 * operator or a bot has few, and the commands name what they lack when they need it.
 */
export async function checkEngine(env: NodeJS.ProcessEnv): Promise<EngineCheck> {
  const check: EngineCheck = {location: env.MXTOK_VAULT ?? '', host: '', ok: false}
  try {
    const {mount, prefix} = parseVaultLocation(check.location)
    const endpoint: VaultEndpoint = {settings: readVaultSettings(env), retryForMs: DOCTOR_RETRY_FOR_MS}
    check.host = endpoint.settings.address.host
    const health = await readHealth(endpoint)
    Object.assign(check, {version: health.version, sealed: health.sealed, standby: health.standby})
    if (!health.initialized || health.sealed) {
      const what = health.initialized ? 'sealed' : 'not initialised'
      return {
        ...check,
        problem: `OpenBao/Vault at ${check.host} is ${what}; ${health.initialized ? 'unseal it (bao operator unseal)' : 'initialise it (bao operator init)'} and run again`,
      }
    }
    const client = await connectVault(env, {retryForMs: DOCTOR_RETRY_FOR_MS})
    const info = await client.lookupSelf()
    check.token = {origin: client.tokenOrigin, ttlSeconds: info.ttl, renewable: info.renewable}
    check.capabilities = await client.capabilities([`${mount}/data/${prefix}/`, `${mount}/metadata/${prefix}/`])
    return {...check, ok: true}
  } catch (error) {
    return {...check, problem: (error as Error).message}
  }
}

/** The row's text after its mark: what was found, or the problem. */
export function describeEngine(c: EngineCheck): string {
  const head = `vault ${c.location}${c.host ? ` at ${c.host}` : ''}`
  if (!c.ok) return `${head} — ${c.problem}`
  const node = `${c.version ? `version ${c.version}, ` : ''}unsealed${c.standby ? ', a standby' : ''}`
  const t = c.token
  const ttl = t
    ? `token from ${t.origin} ${t.ttlSeconds === 0 ? 'does not expire' : `expires in ${duration(t.ttlSeconds)}${t.renewable ? ' (renewable)' : ''}`}`
    : ''
  const caps = Object.entries(c.capabilities ?? {})
    .map(([path, list]) => `${path}: ${list.length > 0 ? list.join(', ') : 'none'}`)
    .join('; ')
  return `${head}: ${node}; ${ttl}; capabilities on ${caps}`
}

function duration(s: number): string {
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  if (s < 172_800) return `${Math.round(s / 3600)} h`
  return `${Math.round(s / 86_400)} days`
}
