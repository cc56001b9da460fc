import type {MatrixClient} from '../matrix/client.js'
import type {UserId} from '../matrix/user-id.js'
import type {SessionRegistry} from '../registry/registry.js'
import type {SecretStore, StoreKind} from '../store/secret-store.js'

/** Everything the use cases touch outside their own memory, passed in so tests can substitute it. */
export interface Deps {
  registry: SessionRegistry
  store(kind: StoreKind): SecretStore
  client(homeserver: string | URL): MatrixClient
  discover(user: UserId): Promise<URL>
  now(): Date
  /** A line for the user on stderr; never carries a secret. */
  warn(message: string): void
}
