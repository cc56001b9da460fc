import {readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {MxtokError} from '../errors.js'
import {writeFileAtomic} from '../fs/atomic-file.js'
import {withLockFile} from '../fs/lock-file.js'
import type {StoreKind} from '../store/store-kinds.js'
import {pendingProblem, sessionProblem} from './entry-check.js'
import {assertPrivate} from './private-config.js'
import {pendingEntry, pendingFromEntry, sessionEntry, sessionFromEntry} from './registry-format.js'
import type {PendingLogin, Session} from './session.js'
import {duplicateKey} from './strict-json.js'

interface RegistryFile {
  version: 1
  sessions: Record<string, unknown>
  pending?: Record<string, unknown>
}

/** The registry as read: usable entries, and damaged ones kept as they are so that no write loses them. */
interface Contents {
  sessions: Map<string, Session>
  pending: Map<string, PendingLogin>
  damaged: {sessions: Record<string, unknown>; pending: Record<string, unknown>}
}

export const REGISTRY_FILE = 'sessions.json'

/** Which sessions an update reads and may change, where the registry can read less than all (the team home). */
export interface UpdateScope {
  /** The names of the sessions the change reads or writes; the others are not in its map. */
  sessions: readonly string[]
  /**
   * The change does something outside that cannot be undone or done twice (a refresh, which
   * rotates the refresh token): no other run may change these sessions while it runs.
   */
  exclusive?: boolean
}

/**
 * Where the sessions and the journal of logins under way are kept: the file of a config directory
 * (SessionRegistry), or a team's folder in OpenBao/Vault (src/teamhome/), which keeps the tokens too.
 */
export interface Registry {
  /** Where it is, for messages. */
  readonly path: string
  /** The store of every session kept here, when the registry keeps the tokens itself; new sessions go there. */
  readonly tokens?: StoreKind
  list(): Promise<Session[]>
  get(name: string): Promise<Session | undefined>
  pending(): Promise<PendingLogin[]>
  /**
   * A value that changes whenever a local change of the registry does, cheap enough to ask every
   * few seconds (exec follows its session with it); a registry that others change from elsewhere
   * (the team home) gives a constant, and its store's row says the store is read instead.
   */
  stamp(): string
  /**
   * Applies `change` to the sessions and pending logins (keyed by their secret account) as they are
   * now and saves the result, no other run's change coming in between. The stores written in the
   * change are written with it. `change` may be applied again to what another run left, and is to
   * do nothing twice that it cannot (unless `scope.exclusive`).
   */
  update<T>(change: (sessions: Map<string, Session>, pending: Map<string, PendingLogin>) => T | Promise<T>, scope?: UpdateScope): Promise<T>
  /** What removals left where they could not finish (the team home's keys of removed sessions); with `fix`, deleted. */
  removedKeys?(fix: boolean): Promise<{left: number; deleted: number}>
}

/** The sessions of one config directory, in one JSON file changed only under a lock and atomically. */
export class SessionRegistry implements Registry {
  readonly path: string
  private readonly warned = new Set<string>()

  /** `warn` hears once of each damaged entry, which is skipped. */
  constructor(
    readonly dir: string,
    private readonly warn: (message: string) => void = () => {},
  ) {
    this.path = join(dir, REGISTRY_FILE)
  }

  async list(): Promise<Session[]> {
    const {sessions} = await this.read()
    // By code unit, the order update() writes; localeCompare costs tens of ms on first use with 1,000 names.
    return [...sessions.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async get(name: string): Promise<Session | undefined> {
    const {sessions, damaged} = await this.read()
    if (Object.hasOwn(damaged.sessions, name)) throw this.damagedSession(name, damaged.sessions[name])
    return sessions.get(name)
  }

  async pending(): Promise<PendingLogin[]> {
    return [...(await this.read()).pending.values()]
  }

  /**
   * A value that changes whenever the file does: every update replaces it with a new file (a new
   * inode), so this holds even where times are coarse. A stat, cheap enough to ask every few seconds.
   */
  stamp(): string {
    try {
      const s = statSync(this.path)
      return `${s.ino}:${s.mtimeMs}:${s.size}`
    } catch {
      return 'none'
    }
  }

  /**
   * Under the lock, so `change` runs once and alone, on everything. Damaged entries are written
   * back as they were, unless `change` put a session of the same name in their place.
   */
  async update<T>(change: (sessions: Map<string, Session>, pending: Map<string, PendingLogin>) => T | Promise<T>): Promise<T> {
    // The lock and the atomic write make the directory; a directory already there must be private.
    assertPrivate([this.dir])
    return withLockFile(`${this.path}.lock`, async () => {
      const {sessions, pending, damaged} = await this.read()
      const result = await change(sessions, pending)
      const out: RegistryFile = {version: 1, sessions: {}}
      const names = new Set([...sessions.keys(), ...Object.keys(damaged.sessions)])
      for (const name of [...names].sort()) {
        const session = sessions.get(name)
        if (!session) {
          out.sessions[name] = damaged.sessions[name]
          continue
        }
        out.sessions[name] = sessionEntry(session)
      }
      const all: Record<string, unknown> = {...damaged.pending, ...Object.fromEntries([...pending].map(([a, p]) => [a, pendingEntry(p)]))}
      const accounts = Object.keys(all).sort()
      if (accounts.length > 0) out.pending = Object.fromEntries(accounts.map((a) => [a, all[a]]))
      await writeFileAtomic(this.path, `${JSON.stringify(out, null, 2)}\n`)
      return result
    })
  }

  /**
   * Synchronous: the file is small and nothing waits to run meanwhile, while the first of Node's
   * asynchronous file calls starts its thread pool, about 1.5 ms of `token` and `list --offline`.
   */
  private async read(): Promise<Contents> {
    assertPrivate([this.dir, this.path])
    let text: string
    try {
      text = readFileSync(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {sessions: new Map(), pending: new Map(), damaged: {sessions: {}, pending: {}}}
      throw new MxtokError('config', `cannot read ${this.path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check its permissions`, {
        cause: error,
      })
    }
    let file: RegistryFile
    try {
      file = JSON.parse(text)
    } catch {
      throw new MxtokError('config', `${this.path} is not valid JSON; restore it from a backup or move it away (the tokens stay in the keychain)`)
    }
    if (file?.version !== 1 || !isRecord(file.sessions) || (file.pending !== undefined && !isRecord(file.pending))) {
      throw new MxtokError('config', `${this.path} has an unknown format (version ${String(file?.version)}); upgrade mxtok, or move the file away`)
    }
    const twice = duplicateKey(text)
    if (twice !== undefined) throw new MxtokError('config', `${this.path} has the key "${twice}" twice; keep the one you mean and delete the other`)

    const contents: Contents = {sessions: new Map(), pending: new Map(), damaged: {sessions: {}, pending: {}}}
    for (const [name, entry] of Object.entries(file.sessions)) {
      const problem = sessionProblem(name, entry)
      if (problem === undefined) contents.sessions.set(name, sessionFromEntry(name, entry as Record<string, unknown>))
      else {
        contents.damaged.sessions[name] = entry
        this.warnOnce(`session "${name}"`, problem)
      }
    }
    for (const [account, entry] of Object.entries(file.pending ?? {})) {
      const problem = pendingProblem(entry)
      if (problem === undefined) contents.pending.set(account, pendingFromEntry(entry as Record<string, unknown>))
      else {
        contents.damaged.pending[account] = entry
        this.warnOnce(`pending login "${account}"`, problem)
      }
    }
    return contents
  }

  private warnOnce(what: string, problem: string): void {
    if (this.warned.has(what)) return
    this.warned.add(what)
    this.warn(`skipping ${what} in ${this.path}: ${problem}; fix or delete that entry`)
  }

  private damagedSession(name: string, entry: unknown): MxtokError {
    return new MxtokError('config', `session "${name}" in ${this.path} is damaged (${sessionProblem(name, entry)}); fix or delete that entry`)
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
