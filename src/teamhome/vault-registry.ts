import {AsyncLocalStorage} from 'node:async_hooks'
import {isDeepStrictEqual} from 'node:util'
import {mapLimit} from '../core/map-limit.js'
import {MxtokError} from '../errors.js'
import {SESSION_NAME} from '../registry/entry-check.js'
import type {Registry, UpdateScope} from '../registry/registry.js'
import type {PendingLogin, Session} from '../registry/session.js'
import {secretAccount} from '../store/secret-store.js'
import type {CapabilityNeed, VaultClient} from '../vault/client.js'
import {CasMismatch, VaultError} from '../vault/errors.js'
import {type KvEntry, KvV2} from '../vault/kv.js'
import type {VaultLocation} from '../vault/location.js'
import {renewWhile} from '../vault/renewer.js'
import {
  authorName,
  deletedFields,
  keptAuthor,
  pendingFields,
  pendingKey,
  readPendingFields,
  readSessionFields,
  recordCopy,
  type SessionRead,
  sessionFields,
} from './layout.js'

/** A secret as read: its fields and the version they are, the version the next write is a check-and-set on. */
interface Held {
  version: number
  data: Record<string, unknown>
}

/** What an update read, and the tokens its change gave the store (null: removed), by account. */
interface Tx {
  sessions: Map<string, {held: Held | undefined; read: SessionRead | undefined}>
  pending: Map<string, {held: Held; login: PendingLogin}>
  tokens: Map<string, string | null>
}

/** How often an update is applied again to what another writer left, before it gives up. */
const UPDATE_TRIES = 6
/** Reads of sessions' secrets at once: enough to hide the round trips, few enough for a busy server. */
const READ_PARALLEL = 32
/** A refresh claims its session for this long: a run killed while it refreshes holds it up no longer. */
const CLAIM_MS = 60_000
/** How long a refresh waits for another run's claim on the same session. */
const CLAIM_WAIT_MS = 30_000
/** A removal claims the name this long, for its few requests: writers of the name wait meanwhile. */
const REMOVAL_MS = 10_000
/** A removal deletes the key only this long before its claim lapses: clocks of two machines may differ by that. */
const CLOCK_MARGIN_MS = 3000
/** How often a writer looks again at a name being removed. */
const REMOVAL_POLL_MS = 50

/**
 * A team's sessions in an OpenBao/Vault KV version 2 folder, records and tokens in one secret per
 * session (layout.ts). No lock: every write is a check-and-set on the version the update read, and
 * an update another writer overtook is applied again to what that writer left, a few times at
 * most. A refresh, which cannot be done twice, first claims its session with such a write.
 */
export class VaultRegistry implements Registry {
  readonly tokens = 'vault' as const
  readonly path: string
  readonly location: VaultLocation
  private readonly txs = new AsyncLocalStorage<Tx>()
  /**
   * The session and token each account had at its last read in this run: what the store answers
   * outside an update. The token is undefined where only the record's copy was read (list).
   */
  private readonly seen = new Map<string, {name: string; secret: string | null | undefined}>()
  private readonly warned = new Set<string>()
  private opened?: Promise<{kv: KvV2; client: VaultClient}>
  private author?: Promise<string>

  /** `machine` (user@host) names the operator's machine beside the engine's name for the token, in what this run writes. */
  constructor(
    location: VaultLocation,
    private readonly connect: () => Promise<VaultClient>,
    private readonly warn: (message: string) => void,
    private readonly machine: string,
  ) {
    this.location = location
    this.path = `${location.mount}/${location.prefix} in OpenBao/Vault`
  }

  /** From the records' copies that a detailed list returns, where they are of the current version; each other secret is read. */
  async list(): Promise<Session[]> {
    const sessions: Session[] = []
    for (const {name, read} of await this.readAll()) {
      if (read?.kind === 'session') sessions.push(read.session)
      else if (read?.kind === 'damaged') this.warnOnce(name, read.problem)
    }
    return sessions.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  /**
   * The keys that removals left (a removal whose delete was refused, or an older mxtok, which
   * left every removed name); with `fix`, deleted as a removal deletes them.
   */
  async removedKeys(fix: boolean): Promise<{left: number; deleted: number}> {
    const left = (await this.readAll()).filter(({read}) => read?.kind === 'deleted').map(({name}) => name)
    let deleted = 0
    if (fix) {
      const {kv} = await this.open()
      for (const name of left) {
        const {held, read} = await this.readSession(name)
        if (read?.kind !== 'deleted' || liveClaim(held!.data)) continue
        const until = Date.now() + REMOVAL_MS
        const version = await kv.write(this.sessionPath(name), await this.removalFields(until), held!.version).catch((error) => {
          if (error instanceof CasMismatch) return undefined
          throw error
        })
        if (version !== undefined && (await this.deleteKey(kv, name, version, until))) deleted++
      }
    }
    return {left: left.length, deleted}
  }

  /** Every session's secret, each from the record's copy where it is of the current version, else read. */
  private async readAll(): Promise<{name: string; read: SessionRead | undefined}[]> {
    const entries = await this.sessionEntries()
    return mapLimit(entries, READ_PARALLEL, async ({name, version, customMetadata: copy}) => ({
      name,
      read: copy && version !== undefined && copy.mxtok_of_version === String(version) ? this.rememberCopy(name, copy) : (await this.readSession(name)).read,
    }))
  }

  async get(name: string): Promise<Session | undefined> {
    if (!SESSION_NAME.test(name)) return undefined
    const {read} = await this.readSession(name)
    if (read?.kind === 'damaged') throw this.damaged(name, read.problem)
    return read?.kind === 'session' ? read.session : undefined
  }

  /** Others change the team home from other machines: exec reads the session's secret at intervals instead (the vault row's changedElsewhere). */
  stamp(): string {
    return 'team home'
  }

  async pending(): Promise<PendingLogin[]> {
    return [...(await this.readPending()).values()].map((p) => p.login)
  }

  async update<T>(change: (sessions: Map<string, Session>, pending: Map<string, PendingLogin>) => T | Promise<T>, scope?: UpdateScope): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const tx = await this.snapshot(scope)
      const sessions = new Map<string, Session>()
      for (const [name, {read}] of tx.sessions) if (read?.kind === 'session') sessions.set(name, read.session)
      const pending = new Map([...tx.pending].map(([account, p]) => [account, p.login]))
      let result: T
      try {
        result = await this.txs.run(tx, () => change(sessions, pending))
      } catch (error) {
        if (scope?.exclusive) await this.release(tx)
        throw error
      }
      try {
        await this.commit(tx, sessions, pending, scope?.exclusive === true)
        return result
      } catch (error) {
        if (!(error instanceof CasMismatch)) throw error
        if (attempt >= UPDATE_TRIES) throw overtaken(error, attempt)
        // Runs that collided retry at different moments.
        await sleep(attempt * (10 + Math.random() * 40))
      }
    }
  }

  /** The server is up and unsealed, and the token may do what the commands do under PREFIX. */
  async check(): Promise<void> {
    const {kv, client} = await this.open()
    const health = await client.health()
    if (!health.initialized || health.sealed) {
      const what = health.initialized ? 'sealed' : 'not initialised'
      throw new VaultError('sealed', health.status, `OpenBao/Vault at ${client.host} is ${what}; unseal it (bao operator unseal) and run again`)
    }
    const needs: CapabilityNeed[] = ['sessions', 'pending'].flatMap((folder) => {
      const path = `${this.location.prefix}/${folder}/`
      const data = `${kv.apiPath('data', path)}/`
      return [
        {path: data, capability: 'create'},
        {path: data, capability: 'read'},
        {path: data, capability: 'update'},
        {path: `${kv.apiPath('metadata', path)}/`, capability: 'list'},
      ]
    })
    needs.push({path: `${kv.apiPath('destroy', `${this.location.prefix}/sessions/`)}/`, capability: 'update'})
    needs.push({path: `${kv.apiPath('metadata', `${this.location.prefix}/pending/`)}/`, capability: 'delete'})
    await client.requireCapabilities(needs)
  }

  /** The token of `account` as the store reads it: inside an update, as the update sees it. */
  async tokenOf(account: string): Promise<string | null> {
    const tx = this.txs.getStore()
    if (tx) return tx.tokens.has(account) ? (tx.tokens.get(account) ?? null) : tokenIn(tx, account)
    if (!this.seen.has(account)) await this.list()
    const seen = this.seen.get(account)
    if (seen?.secret === undefined && seen !== undefined) await this.readSession(seen.name)
    return this.seen.get(account)?.secret ?? null
  }

  /** Reads the secrets of these accounts' sessions whose tokens this run has not read yet, many at once. */
  async readTokens(accounts: string[]): Promise<void> {
    const names = accounts.flatMap((a) => {
      const seen = this.seen.get(a)
      return seen && seen.secret === undefined ? [seen.name] : []
    })
    await mapLimit(names, READ_PARALLEL, (name) => this.readSession(name))
  }

  /**
   * Keeps `secret` (null: none) as the token of the session on `account`: written with the
   * update under way, else in an update of its own. True when there was a token.
   */
  async keepToken(account: string, secret: string | null): Promise<boolean> {
    const tx = this.txs.getStore()
    if (tx) {
      const had = (tx.tokens.has(account) ? tx.tokens.get(account) : tokenIn(tx, account)) != null
      tx.tokens.set(account, secret)
      return had
    }
    if (!this.seen.has(account)) await this.list()
    const name = this.seen.get(account)?.name
    if (name === undefined) {
      if (secret === null) return false
      throw new MxtokError('unexpected', `the team home at ${this.path} keeps a token only with its session, and no session there is on ${account}`)
    }
    return this.update(() => this.keepToken(account, secret), {sessions: [name]})
  }

  private async snapshot(scope: UpdateScope | undefined): Promise<Tx> {
    const deadline = Date.now() + CLAIM_WAIT_MS
    for (;;) {
      const names = scope ? [...scope.sessions].filter((n) => SESSION_NAME.test(n)) : await this.sessionNames()
      const [reads, pending] = await Promise.all([mapLimit(names, READ_PARALLEL, (name) => this.readSession(name)), this.readPending()])
      const tx: Tx = {sessions: new Map(names.map((name, i) => [name, reads[i]])), pending, tokens: new Map()}
      // A name being removed is written again only once its key is gone (or the removal's claim lapsed).
      if (reads.some(({held, read}) => read?.kind === 'deleted' && liveClaim(held!.data)) && Date.now() < deadline) {
        await sleep(REMOVAL_POLL_MS)
        continue
      }
      if (!scope?.exclusive || (await this.claim(tx, deadline))) return tx
    }
  }

  /**
   * Marks the sessions of an exclusive update as being changed by this run, by a check-and-set
   * write that only one run can make on a version. False when another run got there first: the
   * update reads again. Another run's claim is waited for until `deadline`, or until it lapses.
   */
  private async claim(tx: Tx, deadline: number): Promise<boolean> {
    const {kv} = await this.open()
    for (const [name, entry] of tx.sessions) {
      if (entry.held === undefined || entry.read?.kind !== 'session') continue
      const other = liveClaim(entry.held.data)
      if (other !== undefined) {
        if (Date.now() > deadline) {
          throw new VaultError('casMismatch', 400, `session "${name}" in ${this.path} is being refreshed by ${other.by}; run the command again`)
        }
        await sleep(100)
        return false
      }
      const data = {...entry.held.data, mxtok_claim: await this.claimUntil(Date.now() + CLAIM_MS)}
      try {
        const version = await kv.write(this.sessionPath(name), data, entry.held.version)
        entry.held = {version, data}
      } catch (error) {
        if (error instanceof CasMismatch) return false
        throw error
      }
    }
    return true
  }

  /** Takes back the claims of an exclusive update whose change failed; one left lapses by itself. */
  private async release(tx: Tx): Promise<void> {
    const {kv} = await this.open()
    for (const [name, {held}] of tx.sessions) {
      if (held?.data.mxtok_claim === undefined) continue
      const {mxtok_claim: _, ...data} = held.data
      await kv.write(this.sessionPath(name), data, held.version).catch(() => {})
    }
  }

  /**
   * Writes what the change did, each write a check-and-set on the version read: journal entries
   * added first, then the sessions, then entries removed, so that a run stopped in between leaves
   * a device covered by an entry or a session, never by neither.
   */
  private async commit(tx: Tx, sessions: Map<string, Session>, pending: Map<string, PendingLogin>, claimed: boolean): Promise<void> {
    const {kv} = await this.open()
    for (const [account, login] of pending) {
      const before = tx.pending.get(account)
      const fields = pendingFields(login)
      if (before && isDeepStrictEqual(before.held.data, fields)) continue
      await kv.write(this.pendingPath(account), fields, before?.held.version ?? 0)
    }
    for (const name of new Set([...tx.sessions.keys(), ...sessions.keys()])) {
      const after = sessions.get(name)
      const before = tx.sessions.get(name) ?? (await this.readSession(name))
      tx.sessions.set(name, before)
      const {held, read} = before
      if (!after) {
        if (read?.kind === 'session') await this.remove(kv, name, held!)
        continue
      }
      if (after.store !== 'vault') {
        throw new MxtokError('unexpected', `session "${name}" cannot be kept in the team home with its token in the ${after.store} store`)
      }
      const account = secretAccount(after.userId, after.deviceId)
      const token = tx.tokens.has(account) ? (tx.tokens.get(account) ?? null) : tokenIn(tx, account)
      const kept = read?.kind === 'deleted' ? undefined : held?.data
      const fields = sessionFields(after, token, kept, keptAuthor(after, kept) ?? (await this.createdBy()))
      if (held && isDeepStrictEqual(fields, held.data) && !claimed) continue
      const version = await kv.write(this.sessionPath(name), fields, held?.version ?? 0)
      this.remember(name, {version, data: fields})
      await this.copyRecord(kv, name, fields, version)
    }
    for (const account of tx.pending.keys()) {
      if (!pending.has(account)) await kv.remove(this.pendingPath(account))
    }
    for (const account of tx.tokens.keys()) {
      if (![...sessions.values()].some((s) => secretAccount(s.userId, s.deviceId) === account) && tx.tokens.get(account) !== null) {
        throw new MxtokError('unexpected', `the team home at ${this.path} keeps a token only with its session, and no session there is on ${account}`)
      }
    }
  }

  /**
   * A session's end: a version that holds nothing of it and claims the name, written on the version
   * read (so a change made meanwhile is not lost); its earlier versions destroyed, so that no copy of
   * its tokens stays in the history even if what follows fails; then the key deleted.
   */
  private async remove(kv: KvV2, name: string, held: Held): Promise<void> {
    const path = this.sessionPath(name)
    const until = Date.now() + REMOVAL_MS
    const fields = await this.removalFields(until)
    const version = await kv.write(path, fields, held.version)
    this.remember(name, {version, data: fields})
    try {
      await kv.destroy(
        path,
        Array.from({length: version - 1}, (_, i) => i + 1),
      )
    } catch (error) {
      this.warn(`session "${name}" is gone from ${this.path}, but its earlier versions could not be destroyed (${(error as Error).message})`)
    }
    await this.deleteKey(kv, name, version, until)
  }

  /**
   * Deletes the key of a removed session whose claiming last version is `version`, only while that
   * is still the current version and well before the claim lapses (the read and the delete, their
   * retries included, are bounded by that: a failover that holds them up leaves the key): a writer
   * of the name waits for the claim (snapshot), so no session written on the name is deleted, unless
   * two machines' clocks differ by more than CLOCK_MARGIN_MS. A writer that read the last version before the delete
   * finds its check-and-set refused (no such secret), reads again and writes with cas 0. A delete
   * that fails (a policy without delete on the metadata) leaves the name to a last version without
   * the claim, which list skips, the next create of the name writes on, and doctor --fix deletes.
   */
  private async deleteKey(kv: KvV2, name: string, version: number, until: number): Promise<boolean> {
    const path = this.sessionPath(name)
    try {
      const left = () => until - CLOCK_MARGIN_MS - Date.now()
      if (left() > 0 && (await kv.currentVersion(path, left())) === version && left() > 0) {
        await kv.remove(path, left())
        return true
      }
    } catch (error) {
      this.warn(`session "${name}" is gone from ${this.path}, but its key could not be deleted (${(error as Error).message}); "mxtok doctor --fix" deletes it`)
    }
    // Freed at once rather than when the claim lapses; a failure here only makes writers wait for that.
    const free = deletedFields(new Date().toISOString())
    const freed = await kv.write(path, free, version).catch(() => undefined)
    if (freed !== undefined) await this.copyRecord(kv, name, free, freed)
    return false
  }

  private removalFields = async (until: number) => deletedFields(new Date().toISOString(), await this.claimUntil(until))
  private claimUntil = async (until: number) => `${new Date(until).toISOString()} ${await this.createdBy()}`

  /**
   * Who this run is, for what it writes: the token's lookup, once, and only by a run that writes.
   * A token that may not look itself up (a policy without OpenBao's `default`) is named by the machine alone.
   */
  private createdBy(): Promise<string> {
    this.author ??= this.open().then(({client}) =>
      client.lookupSelf().then(
        (token) => authorName(token, this.machine),
        () => this.machine,
      ),
    )
    return this.author
  }

  /**
   * The copy of the record that list reads, written after the secret: a failure (a policy that
   * does not grant update on the metadata) only makes list read that secret itself.
   */
  private async copyRecord(kv: KvV2, name: string, fields: Record<string, unknown>, version: number): Promise<void> {
    await kv.writeMetadata(this.sessionPath(name), recordCopy(fields, version)).catch(() => {})
  }

  private async sessionEntries(): Promise<KvEntry[]> {
    const {kv} = await this.open()
    const entries = await kv.list(`${this.location.prefix}/sessions`)
    return entries.filter((e) => !e.folder && !e.deleted && SESSION_NAME.test(e.name))
  }

  private async sessionNames(): Promise<string[]> {
    return (await this.sessionEntries()).map((e) => e.name)
  }

  private async readSession(name: string): Promise<{held: Held | undefined; read: SessionRead | undefined}> {
    const {kv} = await this.open()
    const held = await kv.read(this.sessionPath(name))
    if (!held) return {held: undefined, read: undefined}
    return {held, read: this.remember(name, held)}
  }

  private rememberCopy(name: string, copy: Record<string, string>): SessionRead {
    const read = readSessionFields(name, copy)
    if (read.kind !== 'session') return read
    const account = secretAccount(read.session.userId, read.session.deviceId)
    const known = this.seen.get(account)
    this.seen.set(account, {name, secret: known?.name === name ? known.secret : undefined})
    return read
  }

  private remember(name: string, held: Held): SessionRead {
    const read = readSessionFields(name, held.data)
    if (read.kind === 'session') this.seen.set(secretAccount(read.session.userId, read.session.deviceId), {name, secret: read.secret})
    else for (const [account, s] of this.seen) if (s.name === name) this.seen.delete(account)
    return read
  }

  private async readPending(): Promise<Map<string, {held: Held; login: PendingLogin}>> {
    const {kv} = await this.open()
    const folder = `${this.location.prefix}/pending`
    const keys = (await kv.list(folder)).filter((e) => !e.folder && !e.deleted).map((e) => e.name)
    const reads = await mapLimit(keys, READ_PARALLEL, (key) => kv.read(`${folder}/${key}`))
    const found = new Map<string, {held: Held; login: PendingLogin}>()
    for (const [i, held] of reads.entries()) {
      if (!held) continue
      const login = readPendingFields(held.data)
      const account = Buffer.from(keys[i], 'base64url').toString()
      if ('problem' in login || pendingKey(account) !== keys[i])
        this.warnOnce(`pending login ${keys[i]}`, 'problem' in login ? login.problem : 'its key is no account')
      else found.set(secretAccount(login.userId, login.deviceId), {held, login})
    }
    return found
  }

  private sessionPath = (name: string) => `${this.location.prefix}/sessions/${name}`
  private pendingPath = (account: string) => `${this.location.prefix}/pending/${pendingKey(account)}`

  /** `work` with the team home's token renewed while it runs (an AppRole's short-lived token outlives a long exec). */
  async whileRunning<T>(work: () => Promise<T>, warn: (line: string) => void): Promise<T> {
    const {client} = await this.open()
    return renewWhile(client, work, warn)
  }

  private open() {
    this.opened ??= this.connect().then((client) => ({client, kv: new KvV2(client, this.location.mount)}))
    return this.opened
  }

  private warnOnce(what: string, problem: string): void {
    if (this.warned.has(what)) return
    this.warned.add(what)
    this.warn(`skipping ${SESSION_NAME.test(what) ? `session "${what}"` : what} in ${this.path}: ${problem}; fix or delete that secret`)
  }

  private damaged(name: string, problem: string): MxtokError {
    return new MxtokError('config', `session "${name}" in ${this.path} is damaged (${problem}); fix or delete that secret`)
  }
}

/** The token of the session on `account` as the update read it; null when none. */
function tokenIn(tx: Tx, account: string): string | null {
  for (const {read} of tx.sessions.values()) {
    if (read?.kind === 'session' && secretAccount(read.session.userId, read.session.deviceId) === account) return read.secret
  }
  return null
}

/** The claim of another run on a secret (a refresh's, a removal's) while it has not lapsed. */
function liveClaim(data: Record<string, unknown>): {until: number; by: string} | undefined {
  if (typeof data.mxtok_claim !== 'string') return undefined
  const [until, ...by] = data.mxtok_claim.split(' ')
  const at = Date.parse(until)
  return Number.isNaN(at) || at <= Date.now() ? undefined : {until: at, by: by.join(' ') || 'another run'}
}

function overtaken(error: CasMismatch, tries: number): VaultError {
  return new VaultError(
    'casMismatch',
    400,
    `${error.path} kept being changed by other runs (${tries} tries); what this run had not written yet was not written — run the command again`,
  )
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
