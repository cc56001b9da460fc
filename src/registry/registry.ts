import {mkdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {MxtokError} from '../errors.js'
import type {StoreKind} from '../store/secret-store.js'
import {writeFileAtomic} from './atomic-file.js'
import {withLockFile} from './lock-file.js'

/** What mxtok knows about a session. Never the token: that lives in the secret store. */
export interface Session {
  name: string
  userId: string
  /** Homeserver base URL, without a trailing slash. */
  homeserver: string
  deviceId: string
  createdAt: string
  store: StoreKind
  /** How the token was obtained: missing means a password login (or an imported token). */
  auth?: 'oauth'
  /** Where an OAuth session's tokens are refreshed and revoked; set when `auth` is 'oauth'. */
  oauth?: OAuthGrant
}

/** The non-secret half of an OAuth 2.0 session: which authorization server and client issued its tokens. */
export interface OAuthGrant {
  issuer: string
  clientId: string
  tokenEndpoint: string
  /** Missing when the server offers no RFC 7009 revocation. */
  revocationEndpoint?: string
}

/**
 * A device mxtok is about to log in to, written before the login and removed in the same update
 * that records the session. One left behind means a run was killed half-way: `mxtok doctor`
 * reports it, since its device may hold a token that nobody has.
 */
export interface PendingLogin {
  userId: string
  deviceId: string
  homeserver: string
  store: StoreKind
  since: string
  /** For a device grant under way: what `mxtok doctor --fix` needs to revoke a token it left behind. */
  oauth?: OAuthGrant
}

interface RegistryFile {
  version: 1
  sessions: Record<string, Omit<Session, 'name'>>
  pending?: Record<string, PendingLogin>
}

export const REGISTRY_FILE = 'sessions.json'

/** The sessions of one config directory, in one JSON file changed only under a lock and atomically. */
export class SessionRegistry {
  readonly path: string

  constructor(readonly dir: string) {
    this.path = join(dir, REGISTRY_FILE)
  }

  async list(): Promise<Session[]> {
    const file = await this.read()
    return Object.entries(file.sessions)
      .map(([name, s]) => ({name, ...s}))
      // By code unit, the order update() writes; localeCompare costs tens of ms on first use with 1,000 names.
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async get(name: string): Promise<Session | undefined> {
    const {sessions} = await this.read()
    return Object.hasOwn(sessions, name) ? {name, ...sessions[name]} : undefined
  }

  async pending(): Promise<PendingLogin[]> {
    return Object.values((await this.read()).pending ?? {})
  }

  /**
   * Applies `change` to the sessions and pending logins (keyed by their secret account) as they
   * are on disk now, under the lock, and saves the result.
   */
  async update<T>(change: (sessions: Map<string, Session>, pending: Map<string, PendingLogin>) => T | Promise<T>): Promise<T> {
    await mkdir(this.dir, {recursive: true, mode: 0o700})
    return withLockFile(`${this.path}.lock`, async () => {
      const file = await this.read()
      const sessions = new Map(Object.entries(file.sessions).map(([name, s]) => [name, {name, ...s}]))
      const pending = new Map(Object.entries(file.pending ?? {}))
      const result = await change(sessions, pending)
      const out: RegistryFile = {version: 1, sessions: {}}
      for (const name of [...sessions.keys()].sort()) {
        const {name: _, ...rest} = sessions.get(name)!
        out.sessions[name] = rest
      }
      if (pending.size > 0) out.pending = Object.fromEntries([...pending].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      await writeFileAtomic(this.path, JSON.stringify(out, null, 2) + '\n')
      return result
    })
  }

  private async read(): Promise<RegistryFile> {
    let text: string
    try {
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {version: 1, sessions: {}}
      throw new MxtokError('unexpected', `cannot read ${this.path}: ${(error as Error).message}`)
    }
    let file: RegistryFile
    try {
      file = JSON.parse(text)
    } catch {
      throw new MxtokError('unexpected', `${this.path} is not valid JSON; restore it from a backup or move it away (the tokens stay in the keychain)`)
    }
    if (file?.version !== 1 || typeof file.sessions !== 'object' || file.sessions === null) {
      throw new MxtokError('unexpected', `${this.path} has an unknown format (version ${String(file?.version)}); upgrade mxtok`)
    }
    return file
  }
}
