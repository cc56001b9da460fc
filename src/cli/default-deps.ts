import type {Deps} from '../core/deps.js'
import {MatrixClient} from '../matrix/client.js'
import {discoverHomeserver} from '../matrix/discovery.js'
import {type HttpOptions, plainHttpAllowed, preloadHttp} from '../matrix/http.js'
import {OAuthClient} from '../matrix/oauth-client.js'
import {writeLines} from '../output/terminal.js'
import {configDir} from '../registry/config-dir.js'
import {SessionRegistry} from '../registry/registry.js'
import type {SecretStore} from '../store/secret-store.js'
import {openStore, type StoreContext, type StoreKind} from '../store/store-kinds.js'
import {warnLine} from './io.js'
import {passphraseSource} from './passphrase.js'
import {requestTimeoutMs, seconds} from './timeouts.js'

/** The real dependencies of a command run, configured from the environment. */
export function defaultDeps(env: NodeJS.ProcessEnv, warn: (message: string) => void): Deps {
  const http: HttpOptions = {
    timeoutMs: requestTimeoutMs(env),
    debug: env.MXTOK_DEBUG ? (line) => writeLines(process.stderr, [`mxtok: debug: ${line}`]) : undefined,
    allowHttp: plainHttpAllowed(env),
  }
  const dir = configDir(env)
  const stores = new Map<StoreKind, SecretStore>()
  const storeContext: StoreContext = {
    env,
    configDir: dir,
    timeoutMs: (name, fallbackMs) => seconds(env, name, fallbackMs),
    passphrase: (path) => passphraseSource(env, process.stdin, process.stderr, path),
  }
  return {
    registry: new SessionRegistry(dir, warn),
    store: (kind) => stores.get(kind) ?? stores.set(kind, openStore(kind, storeContext)).get(kind)!,
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
