import type {Deps} from '../core/deps.js'
import {MatrixClient} from '../matrix/client.js'
import {discoverHomeserver} from '../matrix/discovery.js'
import type {HttpOptions} from '../matrix/http.js'
import {configDir} from '../registry/config-dir.js'
import {SessionRegistry} from '../registry/registry.js'
import {KeychainStore} from '../store/keychain-store.js'
import type {SecretStore} from '../store/secret-store.js'

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name])
  return Number.isFinite(value) && value > 0 ? value * 1000 : fallback
}

/** The real dependencies of a command run, configured from the environment. */
export function defaultDeps(env: NodeJS.ProcessEnv, warn: (message: string) => void): Deps {
  const http: HttpOptions = {
    timeoutMs: seconds(env, 'MXTOK_TIMEOUT', 30_000),
    debug: env.MXTOK_DEBUG ? (line) => process.stderr.write(`mxtok: debug: ${line}\n`) : undefined,
  }
  let keychain: SecretStore | undefined
  return {
    registry: new SessionRegistry(configDir(env)),
    store: () => (keychain ??= new KeychainStore({timeoutMs: seconds(env, 'MXTOK_KEYCHAIN_TIMEOUT', 3000)})),
    client: (homeserver) => new MatrixClient(homeserver, http),
    discover: (user) => discoverHomeserver(user, http),
    now: () => new Date(),
    warn,
  }
}
