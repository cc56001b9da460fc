import {MxtokError} from '../errors.js'
import {unixSocketPath} from './dbus-connection.js'
import {probeSecretService} from './dbus-probe.js'
import {SecretServiceClient, type SecretLookup, unreachableReason} from './secret-service.js'
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

const HOW_TO_FIX =
  'start or unlock a keyring (a desktop login, or gnome-keyring-daemon --unlock inside dbus-run-session), or keep tokens in an encrypted file instead: MXTOK_STORE=file with MXTOK_PASSPHRASE set'

/**
 * The OS keychain through @napi-rs/keyring: macOS Keychain, Windows Credential Manager, and on
 * Linux the Secret Service — pinned, because the library otherwise falls back silently to the
 * kernel keyring, which forgets everything at reboot.
 *
 * On Linux reads and writes go through a Secret Service client of our own: the binding opens a
 * D-Bus connection with its own key exchange for every item (about 10 ms each), and its only batch
 * read returns every mxtok item there is. The client asks for exactly the items wanted, all at
 * once, over one connection per process, and writes items just as the binding does (same label and
 * attributes), so each finds what the other wrote. What it cannot settle (a locked collection, an
 * ambiguous item, no default collection) is left to the binding, which can prompt, create the
 * collection, or say what is wrong.
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
    if (await this.viaClient((client) => client.writable())) return
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
    const [answer] = (await this.lookup([account])) ?? []
    if (answer?.found === 'none') return null
    if (answer?.found === 'one') return answer.secret
    return this.call('read', (k, signal) => this.entry(k, account).getPassword(signal))
  }

  async set(account: string, secret: string): Promise<void> {
    this.prefetched.delete(account)
    const {label, attributes} = keychainItem(this.service, account)
    const change = await this.viaClient((client) => client.store(attributes, label, secret))
    if (change?.done) return
    return this.call('write', (k, signal) => this.entry(k, account).setPassword(secret, signal))
  }

  async delete(account: string): Promise<boolean> {
    this.prefetched.delete(account)
    const change = await this.viaClient((client) => client.remove(this.attributes(account)))
    if (change?.done) return change.items > 0
    return this.call('delete', (k, signal) => this.entry(k, account).deleteCredential(signal))
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
      answers.forEach((answer, i) => this.prefetched.set(accounts[i], answer.then((a) => (a.found === 'one' ? a.secret : undefined), () => undefined)))
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

  private lookup(accounts: string[]): Promise<SecretLookup[] | undefined> {
    return this.viaClient((client) => client.lookup(accounts.map((account) => this.attributes(account))))
  }

  private attributes(account: string): Record<string, string> {
    return keychainItem(this.service, account).attributes
  }

  /**
   * The client's answer, or undefined when the binding has to act instead: the client does not
   * apply here, or failed in a way that says nothing about the keychain. A bus or service that
   * cannot be reached is reported at once, as the probe would: the binding would only wait again.
   */
  private async viaClient<T>(op: (client: SecretServiceClient) => Promise<T>): Promise<T | undefined> {
    const client = this.secretClient()
    if (!client) return undefined
    try {
      return await op(client)
    } catch (error) {
      const reason = unreachableReason(error)
      if (reason) throw new MxtokError('keychain', `cannot use the OS keychain: ${reason}; ${HOW_TO_FIX}`, {cause: error})
      return undefined
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
          reject(new MxtokError('keychain', `the OS keychain did not answer within ${this.timeoutMs / 1000} s (locked, or waiting for an unlock prompt?); ${HOW_TO_FIX}`))
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

/** The library's errors all say GenericFailure; the text tells what the user has to do. */
export function keychainError(what: string, error: unknown): MxtokError {
  const text = String((error as Error)?.message ?? error)
  let why: string
  if (/lock|unlock|prompt|dismiss/i.test(text)) why = `the keychain is locked; ${HOW_TO_FIX}`
  else if (/dbus|d-bus|session bus|org\.freedesktop\.secrets|ServiceUnknown|no such file|NoReply|connection/i.test(text)) why = `no Secret Service answers on the D-Bus session bus; ${HOW_TO_FIX}`
  else why = `the keychain failed (${text.replace(/\s+/g, ' ').slice(0, 200)})`
  return new MxtokError('keychain', `cannot ${what} the OS keychain: ${why}`, {cause: error})
}
