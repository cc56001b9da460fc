// Many sessions in little time, for the benchmark and the scale tests. Each session is what
// `mxtok create` leaves behind: a device with the derived ID, its token in the keychain under the
// service and account mxtok looks up, and an entry in sessions.json. It is made with one raw
// login instead of create's three logins and its process start, which would take minutes for 1,000.
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {mapLimit} from '../../src/core/map-limit.js'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {REGISTRY_FILE} from '../../src/registry/registry.js'
import {sessionEntry} from '../../src/registry/registry-format.js'
import type {Session} from '../../src/registry/session.js'
import {KEYCHAIN_SERVICE, keychainItem} from '../../src/store/keychain-store.js'
import {unixSocketPath} from '../../src/store/secret-service/dbus-connection.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {writeSecrets} from './secret-writer.js'
import {rawLogin} from './synapse.js'

export interface SeedAccount {
  userId: string
  password: string
}

export interface Seeded {
  /** Sorted by name. */
  sessions: Session[]
  /** Token by secret account. */
  tokens: Map<string, string>
}

/** Logs in `perAccount` sessions of every account, named `<prefix><account index>-<number>`. */
export async function seedSessions(
  baseUrl: string,
  accounts: SeedAccount[],
  perAccount: number,
  opts: {prefix?: string; concurrency?: number} = {},
): Promise<Seeded> {
  const prefix = opts.prefix ?? 'bot'
  const createdAt = new Date().toISOString()
  const tokens = new Map<string, string>()
  const wanted = accounts.flatMap((account, a) => Array.from({length: perAccount}, (_, i) => ({account, name: `${prefix}${a}-${String(i).padStart(4, '0')}`})))
  // Synapse answers on one core: more logins at once only queue.
  const sessions = await mapLimit(wanted, opts.concurrency ?? 4, async ({account, name}): Promise<Session> => {
    const deviceId = deriveDeviceId(account.userId, name)
    const login = await rawLogin(baseUrl, account.userId, account.password, deviceId)
    if (login.device_id !== deviceId) throw new Error(`login for ${name} got device ${login.device_id}, not ${deviceId}`)
    tokens.set(secretAccount(account.userId, deviceId), login.access_token)
    return {name, userId: account.userId, homeserver: baseUrl.replace(/\/+$/, ''), deviceId, createdAt, store: 'keychain', auth: 'password'}
  })
  return {sessions: sessions.sort((a, b) => (a.name < b.name ? -1 : 1)), tokens}
}

/**
 * Stores tokens in the keyring with the attributes mxtok's lookups match (service, username), all
 * over one connection. `collection: 'session'` puts them in gnome-keyring's in-memory collection,
 * where mxtok finds them just the same: the default, on-disk one re-encrypts its whole file on
 * every write, which makes a thousand writes take most of a minute.
 */
export async function keepTokens(keyringEnv: Record<string, string>, tokens: Map<string, string>, opts: {collection?: 'session'} = {}): Promise<void> {
  const socket = unixSocketPath(keyringEnv.DBUS_SESSION_BUS_ADDRESS ?? '')
  if (!socket) throw new Error(`no Unix socket in the keyring's bus address ${keyringEnv.DBUS_SESSION_BUS_ADDRESS}`)
  const items = [...tokens].map(([account, token]) => ({
    ...keychainItem(KEYCHAIN_SERVICE, account),
    secret: token,
  }))
  await writeSecrets(socket, opts.collection ?? '/org/freedesktop/secrets/aliases/default', items)
}

/** A config directory holding exactly these sessions, in the format SessionRegistry writes. */
export async function writeRegistry(dir: string, sessions: Session[]): Promise<string> {
  await mkdir(dir, {recursive: true, mode: 0o700})
  const file: {version: 1; sessions: Record<string, unknown>} = {version: 1, sessions: {}}
  for (const session of [...sessions].sort((a, b) => (a.name < b.name ? -1 : 1))) file.sessions[session.name] = sessionEntry(session)
  await writeFile(join(dir, REGISTRY_FILE), `${JSON.stringify(file, null, 2)}\n`, {mode: 0o600})
  return dir
}
