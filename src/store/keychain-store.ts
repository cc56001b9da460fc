import {MxtokError} from '../errors.js'
import {probeSecretService} from './dbus-probe.js'
import type {SecretStore} from './secret-store.js'

export const KEYCHAIN_SERVICE = 'mxtok'

type AsyncEntryCtor = typeof import('@napi-rs/keyring').AsyncEntry

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
 */
export class KeychainStore implements SecretStore {
  readonly kind = 'keychain' as const
  private readonly service: string
  private readonly timeoutMs: number
  private readonly env: NodeJS.ProcessEnv
  private readonly platform: NodeJS.Platform
  private entryCtor?: Promise<AsyncEntryCtor>

  constructor(opts: KeychainOptions = {}) {
    this.service = opts.service ?? KEYCHAIN_SERVICE
    this.timeoutMs = opts.timeoutMs ?? 3000
    this.env = opts.env ?? process.env
    this.platform = opts.platform ?? process.platform
  }

  async check(): Promise<void> {
    // One probe item per process: concurrent writers of one item would make it ambiguous.
    const probe = `mxtok-probe-${process.pid}`
    await this.set(probe, 'probe')
    await this.delete(probe)
  }

  get(account: string): Promise<string | null> {
    return this.call('read', account, (entry, signal) => entry.getPassword(signal))
  }

  set(account: string, secret: string): Promise<void> {
    return this.call('write', account, (entry, signal) => entry.setPassword(secret, signal))
  }

  delete(account: string): Promise<boolean> {
    return this.call('delete', account, (entry, signal) => entry.deleteCredential(signal))
  }

  private async call<T>(what: string, account: string, op: (entry: InstanceType<AsyncEntryCtor>, signal: AbortSignal) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    try {
      // The probe inside loadEntry has a deadline of its own.
      const Entry = await this.loadEntry()
      const entry = new Entry(this.service, account, {linux: {store: 'secret-service'}})
      const controller = new AbortController()
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort()
          reject(new MxtokError('keychain', `the OS keychain did not answer within ${this.timeoutMs / 1000} s (locked, or waiting for an unlock prompt?); ${HOW_TO_FIX}`))
        }, this.timeoutMs)
      })
      // A call abandoned here may stay stuck in native code: bin/run.cjs exits explicitly.
      return await Promise.race([op(entry, controller.signal), deadline])
    } catch (error) {
      throw error instanceof MxtokError ? error : keychainError(what, error)
    } finally {
      clearTimeout(timer)
    }
  }

  private loadEntry(): Promise<AsyncEntryCtor> {
    this.entryCtor ??= this.reachable().then(() => import('@napi-rs/keyring').then((m) => m.AsyncEntry))
    return this.entryCtor
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
