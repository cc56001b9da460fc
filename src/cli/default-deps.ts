import {hostname, userInfo} from 'node:os'
import type {Deps} from '../core/deps.js'
import {usageError} from '../errors.js'
import {MatrixClient} from '../matrix/client.js'
import {discoverHomeserver} from '../matrix/discovery.js'
import {type HttpOptions, preloadHttp, RATE_LIMIT_BUDGET_MS, type RateLimitWait} from '../matrix/http.js'
import {MasAdminClient} from '../matrix/mas-admin-client.js'
import {OAuthClient} from '../matrix/oauth-client.js'
import {writeLines} from '../output/terminal.js'
import {configDir} from '../registry/config-dir.js'
import {SessionRegistry} from '../registry/registry.js'
import type {SecretStore} from '../store/secret-store.js'
import {openStore, type StoreContext, type StoreKind} from '../store/store-kinds.js'
import {TeamStore} from '../teamhome/team-store.js'
import {VaultRegistry} from '../teamhome/vault-registry.js'
import {connectVault} from '../vault/client.js'
import {parseVaultLocation} from '../vault/location.js'
import {type InFlight, recordRequests} from './live/in-flight.js'
import {rateLimitLine} from './live/rate-limit-line.js'
import {passphraseSource} from './passphrase.js'
import type {RunOptions} from './run-options.js'
import {requestTimeoutMs, seconds} from './timeouts.js'

/**
 * The real dependencies of a command run: configured from the run's options and the environment;
 * each homeserver request is recorded in `inFlight` while it is under way.
 */
export function defaultDeps(
  env: NodeJS.ProcessEnv,
  options: Pick<RunOptions, 'verbose' | 'allowHttp' | 'vault'>,
  warn: (message: string) => void,
  inFlight?: InFlight,
): Deps {
  // A person at a terminal sees why nothing happens while a server rate-limits. Made at the first
  // wait: the process's stderr costs about a millisecond to make, and most runs never wait.
  let waitLine: ((wait: RateLimitWait) => void) | null | undefined
  const http: HttpOptions = {
    timeoutMs: requestTimeoutMs(env),
    debug: options.verbose ? (line) => writeLines(process.stderr, [`mxtok: debug: ${line}`]) : undefined,
    allowHttp: options.allowHttp,
    rateLimited: (wait) => {
      waitLine ??= process.stderr.isTTY && env.TERM !== 'dumb' ? rateLimitLine(process.stderr, process.stderr.columns || 80) : null
      waitLine?.(wait)
    },
  }
  const watched = (homeserver: string | URL): HttpOptions => (inFlight ? {...http, onRequest: recordRequests(inFlight, new URL(homeserver).host)} : http)
  const by = `${userInfo().username}@${hostname()}`
  const dir = configDir(env)
  const local = new SessionRegistry(dir, warn)
  // The one place the team home is chosen: with it, the sessions and their tokens are all there.
  const team = options.vault === undefined ? undefined : new VaultRegistry(parseVaultLocation(options.vault), () => connectVault(env), warn, by)
  const stores = new Map<StoreKind, SecretStore>()
  const storeContext: StoreContext = {
    env,
    configDir: dir,
    timeoutMs: (name, fallbackMs) => seconds(env, name, fallbackMs),
    passphrase: (path) => passphraseSource(env, process.stdin, process.stderr, path),
    teamStore: () => (team ? new TeamStore(team) : noTeamHome),
  }
  return {
    registry: team ?? local,
    localRegistry: team && local,
    store: (kind) => stores.get(kind) ?? stores.set(kind, openStore(kind, storeContext)).get(kind)!,
    client: (homeserver) => new MatrixClient(homeserver, watched(homeserver)),
    oauth: (homeserver) => new OAuthClient(homeserver, watched(homeserver)),
    masAdmin: (issuer, token) => new MasAdminClient(issuer, token, watched(issuer)),
    discover: (user) => discoverHomeserver(user, http),
    warmUp: (homeservers) => {
      for (const h of homeservers) preloadHttp(new URL(h))
    },
    now: () => new Date(),
    self: {by, pid: process.pid, requestMs: requestTimeoutMs(env) + RATE_LIMIT_BUDGET_MS},
    warn,
  }
}

/** The vault store where no team home is named: each use says how to name one. */
const noTeamHome = (() => {
  const fail = async (): Promise<never> => {
    throw usageError('the vault store is the team home in OpenBao/Vault: name it with --vault MOUNT/PREFIX or MXTOK_VAULT (e.g. secret/mxtok)')
  }
  return {kind: 'vault' as const, check: fail, get: fail, set: fail, delete: fail, prefetch: async () => {}}
})()
