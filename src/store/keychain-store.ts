import {MxtokError} from '../errors.js'
import {
  DBusError,
  probeSecretService,
  type SecretChange,
  type SecretLookup,
  SecretServiceClient,
  unixSocketPath,
  unreachableReason,
} from './secret-service/index.js'
import type {SecretStore} from './secret-store.js'

export const KEYCHAIN_SERVICE = 'mxtok'

/** The label and attributes the binding gives an item, and searches by: writing the same, each side finds what the other wrote. */
export function keychainItem(service: string, account: string): {label: string; attributes: Record<string, string>} {
  return {label: `keyring:${account}@${service}`, attributes: {service, username: account}}
}

type Keyring = typeof import('@napi-rs/keyring')
type AsyncEntryCtor = Keyring['AsyncEntry']

export interface KeychainOptions {
  service?: string
  /** A keychain that does not answer (a hung daemon, an unseen unlock prompt) must not hang mxtok. */
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  platform?: NodeJS.Platform
}

const FILE_INSTEAD = 'keep tokens in an encrypted file instead: MXTOK_STORE=file with MXTOK_PASSPHRASE set'
const HOW_TO_FIX = `start or unlock a keyring (a desktop login, or gnome-keyring-daemon --unlock inside dbus-run-session), or ${FILE_INSTEAD}`

/**
 * The OS keychain through @napi-rs/keyring: macOS Keychain, Windows Credential Manager, and on
 * Linux the Secret Service — pinned, because the library otherwise falls back silently to the
 * kernel keyring, which forgets everything at reboot.
 *
 * On Linux (a session bus on a Unix socket) everything goes through a Secret Service client of our
 * own, and the binding is not loaded: it opens a D-Bus connection with its own key exchange for
 * every item (about 10 ms each), its only batch read returns every mxtok item there is, and a call
 * of it waiting on a prompt cannot be ended — it kept the process from exiting after its timeout.
 * The client asks for exactly the items wanted, all at once, over one connection per process,
 * writes items just as the binding does (same label and attributes), so each finds what the other
 * wrote, and completes the prompts a Secret Service answers with, within the timeout.
 */
export class KeychainStore implements SecretStore {
  readonly kind = 'keychain' as const
  private readonly service: string
  private readonly timeoutMs: number
  private readonly env: NodeJS.ProcessEnv
  private readonly platform: NodeJS.Platform
  private keyring?: Promise<Keyring>
  /** null where the client does not apply: not Linux, or a bus that is not on a Unix socket. */
  private client?: SecretServiceClient | null
  /**
   * Secrets read, or being read, by prefetch(), each handed out once so that a later read sees the
   * store again; undefined where the prefetch could not tell, and get() asks on its own.
   */
  private readonly prefetched = new Map<string, Promise<string | undefined>>()

  constructor(opts: KeychainOptions = {}) {
    this.service = opts.service ?? KEYCHAIN_SERVICE
    this.timeoutMs = opts.timeoutMs ?? 3000
    this.env = opts.env ?? process.env
    this.platform = opts.platform ?? process.platform
  }

  async check(): Promise<void> {
    const client = this.secretClient()
    if (client) {
      const state = await this.viaClient((c) => c.writable())
      if (state === 'yes' || (state === 'locked' && (await this.viaClient((c) => c.unlock())))) return
      if (state === 'locked') throw lockedError()
      if (state === 'no collection') throw new MxtokError('keychain', `cannot use the OS keychain: the Secret Service has no default collection; ${HOW_TO_FIX}`)
      throw new MxtokError(
        'keychain',
        `cannot use the OS keychain: the Secret Service refused an encrypted session (${state.noSession}), and mxtok never sends a token over the bus in clear; with KWallet, install libqca-qt5-2-plugins (Debian) and restart kwalletd5, or ${FILE_INSTEAD}`,
      )
    }
    // The binding proves a write the long way, and can prompt for an unlock or say what is wrong.
    // One probe item per process: concurrent writers of one item would make it ambiguous.
    const probe = `mxtok-probe-${process.pid}`
    await this.call('write', (k, signal) => this.entry(k, probe).setPassword('probe', signal))
    await this.call('delete', (k, signal) => this.entry(k, probe).deleteCredential(signal))
  }

  async get(account: string): Promise<string | null> {
    const cached = this.prefetched.get(account)
    this.prefetched.delete(account)
    const early = await cached
    if (early !== undefined) return early
    if (!this.secretClient()) return this.call('read', (k, signal) => this.entry(k, account).getPassword(signal))
    const lookup = () => this.viaClient(async (client) => (await client.lookup([this.attributes(account)]))[0])
    let answer: SecretLookup = await lookup()
    if (answer.found === 'locked' && (await this.viaClient((c) => c.unlock()))) answer = await lookup()
    if (answer.found === 'none') return null
    if (answer.found === 'one') return answer.secret
    if (answer.found === 'locked') throw lockedError()
    throw new MxtokError(
      'keychain',
      `cannot read the OS keychain: it holds more than one item for ${account}, or one that is not text; remove them with: secret-tool clear service ${this.service} username ${account}`,
    )
  }

  async set(account: string, secret: string): Promise<void> {
    this.prefetched.delete(account)
    if (!this.secretClient()) return this.call('write', (k, signal) => this.entry(k, account).setPassword(secret, signal))
    const {label, attributes} = keychainItem(this.service, account)
    await this.change((client) => client.store(attributes, label, secret))
  }

  async delete(account: string): Promise<boolean> {
    this.prefetched.delete(account)
    if (!this.secretClient()) return this.call('delete', (k, signal) => this.entry(k, account).deleteCredential(signal))
    return (await this.change((client) => client.remove(this.attributes(account)))) > 0
  }

  /** A write or delete, once more after an unlock when the collection was locked; the items changed. */
  private async change(op: (client: SecretServiceClient) => Promise<SecretChange>): Promise<number> {
    let change = await this.viaClient(op)
    if (!change.done && (await this.viaClient((c) => c.unlock()))) change = await this.viaClient(op)
    if (!change.done) throw lockedError()
    return change.items
  }

  /**
   * Through the client: the reads start and this returns, each get() waiting for its own secret.
   * Through the binding, where the client does not apply: each single read opens a D-Bus connection
   * of its own, with its own key exchange (about 10 ms), and its one search returns every mxtok item
   * at once, which pays off from a handful of sessions on.
   */
  async prefetch(accounts: string[]): Promise<void> {
    const client = this.secretClient()
    if (client) {
      // Not awaited: each get() waits for its own secret only, so work on the first ones can start.
      const answers = client.lookupEach(accounts.map((account) => this.attributes(account)))
      for (const [i, answer] of answers.entries()) {
        this.prefetched.set(
          accounts[i],
          answer.then(
            (a) => (a.found === 'one' ? a.secret : undefined),
            () => undefined,
          ),
        )
      }
      return
    }
    try {
      const found = await this.call('read', (k, signal) => k.findCredentialsAsync(this.service, null, signal))
      const wanted = new Set(accounts)
      for (const {account, password} of found) if (wanted.has(account)) this.prefetched.set(account, Promise.resolve(password))
    } catch {
      // Each get() then asks on its own and says what is wrong.
    }
  }

  private attributes(account: string): Record<string, string> {
    return keychainItem(this.service, account).attributes
  }

  /** The client's answer; its failures said as the keychain's, for a person. */
  private async viaClient<T>(op: (client: SecretServiceClient) => Promise<T>): Promise<T> {
    try {
      return await op(this.secretClient()!)
    } catch (error) {
      const reason = unreachableReason(error)
      if (reason) throw new MxtokError('keychain', `cannot use the OS keychain: ${reason}; ${HOW_TO_FIX}`, {cause: error})
      if (error instanceof DBusError)
        throw new MxtokError('keychain', `cannot use the OS keychain: the Secret Service refused (${error.errorName}); ${HOW_TO_FIX}`, {cause: error})
      throw keychainError('use', error)
    }
  }

  private secretClient(): SecretServiceClient | null {
    if (this.client !== undefined) return this.client
    const path = this.platform === 'linux' ? unixSocketPath(this.env.DBUS_SESSION_BUS_ADDRESS ?? '') : undefined
    this.client = path ? new SecretServiceClient(path, this.timeoutMs) : null
    return this.client
  }

  private entry(k: Keyring, account: string): InstanceType<AsyncEntryCtor> {
    return new k.AsyncEntry(this.service, account, {linux: {store: 'secret-service'}})
  }

  private async call<T>(what: string, op: (k: Keyring, signal: AbortSignal) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    try {
      // The probe inside load() has a deadline of its own.
      const k = await this.load()
      const controller = new AbortController()
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort()
          reject(
            new MxtokError(
              'keychain',
              `the OS keychain did not answer within ${this.timeoutMs / 1000} s (locked, or waiting for an unlock prompt?); ${HOW_TO_FIX}`,
            ),
          )
        }, this.timeoutMs)
      })
      // A call abandoned here may stay stuck in native code: bin/run.cjs exits explicitly.
      return await Promise.race([op(k, controller.signal), deadline])
    } catch (error) {
      throw error instanceof MxtokError ? error : keychainError(what, error)
    } finally {
      clearTimeout(timer)
    }
  }

  private load(): Promise<Keyring> {
    this.keyring ??= this.reachable().then(() => import('@napi-rs/keyring'))
    return this.keyring
  }

  /** On Linux the binding would block the process on a silent bus: ask the bus first, once. */
  private async reachable(): Promise<void> {
    if (this.platform !== 'linux') return
    const probe = await probeSecretService(this.env, this.timeoutMs)
    if (!probe.ok) throw new MxtokError('keychain', `cannot use the OS keychain: ${probe.reason}; ${HOW_TO_FIX}`)
  }
}

const lockedError = () => new MxtokError('keychain', `cannot use the OS keychain: the keychain is locked; ${HOW_TO_FIX}`)

/** The library's errors all say GenericFailure; the text tells what the user has to do. */
export function keychainError(what: string, error: unknown): MxtokError {
  const text = String((error as Error)?.message ?? error)
  let why: string
  if (/lock|unlock|prompt|dismiss/i.test(text)) why = `the keychain is locked; ${HOW_TO_FIX}`
  else if (/dbus|d-bus|session bus|org\.freedesktop\.secrets|ServiceUnknown|no such file|NoReply|connection/i.test(text))
    why = `no Secret Service answers on the D-Bus session bus; ${HOW_TO_FIX}`
  else why = `the keychain failed (${text.replace(/\s+/g, ' ').slice(0, 200)})`
  return new MxtokError('keychain', `cannot ${what} the OS keychain: ${why}`, {cause: error})
}
