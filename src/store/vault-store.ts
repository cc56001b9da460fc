import {MxtokError, usageError} from '../errors.js'
import {connectVault, type VaultClient} from '../vault/client.js'
import {VaultError} from '../vault/errors.js'
import {KvV2} from '../vault/kv.js'
import {parseVaultLocation, type VaultLocation} from '../vault/location.js'
import type {SecretAbout, SecretStore} from './secret-store.js'

/** The version of the fields below, in each secret as mxtok_layout; docs/teams.md describes it. */
export const VAULT_LAYOUT = '1'

/** Fields mxtok writes; any other field someone added to a secret is kept as it was. */
const OWN_FIELDS = ['access_token', 'user_id', 'device_id', 'homeserver', 'mxtok_layout', 'mxtok_refresh_token', 'mxtok_expires_at'] as const

/**
 * The path of an account's secret, relative to the mount: PREFIX/sessions/USER_ID/DEVICE_ID. By
 * account and not by session name, as every store is keyed: a rename changes no path, and a login
 * still pending (which has no session yet) has its place too.
 */
export function vaultPath(location: VaultLocation, account: string): string {
  const segments = account.split('/')
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new MxtokError('store', `the account ${JSON.stringify(account)} cannot be named as a path in OpenBao/Vault; keep its token in another store`)
  }
  return `${location.prefix}/sessions/${account}`
}

/**
 * A session's secret as its fields: a bare token is access_token; a token pair (src/core/session-secret.ts,
 * always JSON {access_token, refresh_token, expires_at}) spreads over access_token,
 * mxtok_refresh_token and mxtok_expires_at, so that a bot reads access_token alone whatever the kind.
 */
export function secretFields(secret: string): Record<string, string> {
  if (secret.startsWith('{')) {
    const pair = parsePair(secret)
    if (pair) {
      const fields: Record<string, string> = {access_token: pair.access_token, mxtok_refresh_token: pair.refresh_token}
      if (pair.expires_at !== null) fields.mxtok_expires_at = pair.expires_at
      return fields
    }
  }
  // Whatever else it is (a damaged pair too) is kept as it came, for mxtok to judge when it reads it.
  return {access_token: secret}
}

/** The secret as the other stores keep it, from the fields; null when there is no access_token. */
export function secretOf(data: Record<string, unknown>): string | null {
  if (typeof data.access_token !== 'string') return null
  if (typeof data.mxtok_refresh_token !== 'string') return data.access_token
  const expiresAt = typeof data.mxtok_expires_at === 'string' && data.mxtok_expires_at !== '' ? data.mxtok_expires_at : null
  return JSON.stringify({access_token: data.access_token, refresh_token: data.mxtok_refresh_token, expires_at: expiresAt})
}

function parsePair(secret: string): {access_token: string; refresh_token: string; expires_at: string | null} | undefined {
  let value: Record<string, unknown>
  try {
    value = JSON.parse(secret)
  } catch {
    return undefined
  }
  const {access_token, refresh_token, expires_at} = value ?? {}
  if (typeof access_token !== 'string' || typeof refresh_token !== 'string' || (expires_at !== null && typeof expires_at !== 'string')) return undefined
  const pair = {access_token, refresh_token, expires_at}
  // Only what reads back as the very same text: a move compares the copy with the original.
  return JSON.stringify(pair) === secret ? pair : undefined
}

/**
 * Tokens in an OpenBao or HashiCorp Vault KV version 2 mount, MXTOK_VAULT=MOUNT/PREFIX, one secret
 * per account with fields a bot reads without mxtok (layout 1, docs/teams.md). Every write is a
 * check-and-set on the version read just before it: another writer's change is never overwritten
 * (the run fails, exit 9, and is run again). The server and its token come from the bao/vault CLIs'
 * variables (src/vault/settings.ts); nothing is asked of them until the store is used.
 */
export class VaultStore implements SecretStore {
  readonly kind = 'vault' as const
  private opened?: Promise<{kv: KvV2; client: VaultClient; location: VaultLocation}>

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** The server is up and unsealed, and the token may create, read, update and delete secrets under PREFIX/sessions/. */
  async check(): Promise<void> {
    const {kv, client, location} = await this.open()
    const health = await client.health()
    if (!health.initialized || health.sealed) {
      const what = health.initialized ? 'sealed' : 'not initialised'
      throw new VaultError('sealed', health.status, `OpenBao/Vault at ${client.host} is ${what}; unseal it (bao operator unseal) and run again`)
    }
    const folder = `${location.prefix}/sessions/`
    const data = `${kv.apiPath('data', folder)}/`
    const metadata = `${kv.apiPath('metadata', folder)}/`
    await client.requireCapabilities([
      {path: data, capability: 'create'},
      {path: data, capability: 'read'},
      {path: data, capability: 'update'},
      {path: metadata, capability: 'delete'},
    ])
  }

  async get(account: string): Promise<string | null> {
    const {kv, location} = await this.open()
    const found = await kv.read(vaultPath(location, account))
    return found ? secretOf(found.data) : null
  }

  async set(account: string, secret: string, about?: SecretAbout): Promise<void> {
    const {kv, location} = await this.open()
    const path = vaultPath(location, account)
    const current = await kv.read(path)
    const kept = {...current?.data}
    for (const field of OWN_FIELDS) delete kept[field]
    const who = about ?? whoFrom(current?.data, account)
    await kv.write(
      path,
      {...kept, ...secretFields(secret), user_id: who.userId, device_id: who.deviceId, homeserver: who.homeserver, mxtok_layout: VAULT_LAYOUT},
      current?.version ?? 0,
    )
  }

  async delete(account: string): Promise<boolean> {
    const {kv, location} = await this.open()
    const path = vaultPath(location, account)
    const existed = (await kv.read(path)) !== undefined
    // Every version and the metadata: a revoked token leaves no copy in the history.
    await kv.remove(path)
    return existed
  }

  private open() {
    this.opened ??= (async () => {
      const text = this.env.MXTOK_VAULT
      if (!text) throw usageError('the vault store needs MXTOK_VAULT=MOUNT/PREFIX, the KV version 2 mount and a folder in it (e.g. secret/mxtok)')
      const location = parseVaultLocation(text)
      const client = await connectVault(this.env)
      return {kv: new KvV2(client, location.mount), client, location}
    })()
    return this.opened
  }
}

/** Who a secret is of when the caller did not say: as the secret says, else from the account (USER/DEVICE). */
function whoFrom(data: Record<string, unknown> | undefined, account: string): SecretAbout {
  const cut = account.lastIndexOf('/')
  const field = (name: string, fallback: string) => (typeof data?.[name] === 'string' ? (data[name] as string) : fallback)
  return {userId: field('user_id', account.slice(0, cut)), deviceId: field('device_id', account.slice(cut + 1)), homeserver: field('homeserver', '')}
}
