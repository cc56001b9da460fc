import type {MatrixClient} from '../matrix/client.js'
import type {MasAdminClient} from '../matrix/mas-admin-client.js'
import type {OAuthClient} from '../matrix/oauth-client.js'
import type {UserId} from '../matrix/user-id.js'
import type {Registry} from '../registry/registry.js'
import type {SecretStore} from '../store/secret-store.js'
import type {StoreKind} from '../store/store-kinds.js'
import type {RunSelf} from './lease.js'

/** Everything the use cases touch outside their own memory, passed in so tests can substitute it. */
export interface Deps {
  /** The sessions the commands work on: the config directory's, or the team home's in OpenBao/Vault. */
  registry: Registry
  /** With the team home, the config directory's registry, which move brings sessions from and back to. */
  localRegistry?: Registry
  store(kind: StoreKind): SecretStore
  client(homeserver: string | URL): MatrixClient
  /** Next-generation auth (OAuth 2.0): the homeserver's metadata and the endpoints it names. */
  oauth(homeserver: string | URL): OAuthClient
  /** The admin API of the Matrix Authentication Service at `issuer`, with a token of scope urn:mas:admin. */
  masAdmin(issuer: string | URL, token: string): MasAdminClient
  discover(user: UserId): Promise<URL>
  /** Starts loading what talking to these homeservers takes, for a command that reads the store first. */
  warmUp?(homeservers: string[]): void
  now(): Date
  /** This run, as the journal entries it writes name it, and how long its requests may take: their lease. */
  self: RunSelf
  /** A line for the user on stderr; never carries a secret. */
  warn(message: string): void
}
