import type {Deps} from '../core/deps.js'
import {MatrixClient} from '../matrix/client.js'
import {discoverHomeserver} from '../matrix/discovery.js'
import {type HttpOptions, plainHttpAllowed, preloadHttp} from '../matrix/http.js'
import {OAuthClient} from '../matrix/oauth-client.js'
import {writeLines} from '../output/terminal.js'
import {configDir} from '../registry/config-dir.js'
import {SessionRegistry} from '../registry/registry.js'
import {FileStore} from '../store/file-store.js'
import {KeychainStore} from '../store/keychain-store.js'
import type {SecretStore, StoreKind} from '../store/secret-store.js'
import {warnLine} from './io.js'
import {rateLimitLine} from './live/rate-limit-line.js'
import {passphraseSource} from './passphrase.js'
import {requestTimeoutMs, seconds} from './timeouts.js'

/** The real dependencies of a command run, configured from the environment. */
export function defaultDeps(env: NodeJS.ProcessEnv, warn: (message: string) => void): Deps {
  const http: HttpOptions = {
    timeoutMs: requestTimeoutMs(env),
    debug: env.MXTOK_DEBUG ? (line) => writeLines(process.stderr, [`mxtok: debug: ${line}`]) : undefined,
    allowHttp: plainHttpAllowed(env),
    // A person at a terminal sees why nothing happens while a server rate-limits.
    rateLimited: process.stderr.isTTY && env.TERM !== 'dumb' ? rateLimitLine(process.stderr, process.stderr.columns || 80) : undefined,
  }
  const dir = configDir(env)
  const stores = new Map<StoreKind, SecretStore>()
  const make = (kind: StoreKind): SecretStore => {
    if (kind === 'keychain') return new KeychainStore({timeoutMs: seconds(env, 'MXTOK_KEYCHAIN_TIMEOUT', 3000), env})
    const file: FileStore = new FileStore(
      dir,
      passphraseSource(env, process.stdin, process.stderr, () => file.path),
    )
    return file
  }
  return {
    registry: new SessionRegistry(dir, warn),
    store: (kind) => stores.get(kind) ?? stores.set(kind, make(kind)).get(kind)!,
    client: (homeserver) => new MatrixClient(homeserver, http),
    oauth: (homeserver) => new OAuthClient(homeserver, http),
    discover: (user) => discoverHomeserver(user, http),
    warmUp: (homeservers) => {
      for (const h of homeservers) preloadHttp(new URL(h))
    },
    now: () => new Date(),
    warn,
  }
}

/** A command's dependencies; --verbose is MXTOK_DEBUG=1, --allow-http is MXTOK_ALLOW_HTTP=1. */
export const commandDeps = (verbose: boolean, allowHttp = false): Deps =>
  defaultDeps({...process.env, ...(verbose ? {MXTOK_DEBUG: '1'} : {}), ...(allowHttp ? {MXTOK_ALLOW_HTTP: '1'} : {})}, warnLine)
