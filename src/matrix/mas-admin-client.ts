import {stringField} from './answer-fields.js'
import {type HttpOptions, requestJson} from './http.js'

/** A user as MAS's admin API knows it: its ULID is what the other admin endpoints take. */
export interface MasUser {
  id: string
  username: string
  admin: boolean
}

/**
 * The admin API of a Matrix Authentication Service (MAS), under api/admin/v1 at its issuer: one
 * method per endpoint, each called with a token of scope urn:mas:admin (an admin user's OAuth
 * session, or an operator's client by client credentials). Answers are JSON:API documents
 * ({"data": {"type", "id", "attributes"}}); errors ({"errors": [{"title"}]}) are MatrixError, like
 * every answer of a server mxtok talks to.
 */
export class MasAdminClient {
  readonly baseUrl: URL

  constructor(
    issuer: string | URL,
    private readonly token: string,
    private readonly http: HttpOptions = {},
  ) {
    this.baseUrl = new URL(issuer)
  }

  /** GET /users/by-username/{username}: the user of this localpart. */
  async userByUsername(username: string): Promise<MasUser> {
    const {body} = await requestJson({method: 'GET', url: this.url(`/users/by-username/${encodeURIComponent(username)}`), token: this.token}, this.http)
    const {id, attributes} = resource(body, this.baseUrl)
    return {id, username: stringField(attributes, 'username', this.baseUrl, 'oauth'), admin: attributes.admin === true}
  }

  /** GET /site-config: the server's name and settings; the cheapest call that proves the token reaches the admin API. */
  async siteConfig(): Promise<{serverName: string}> {
    const {body} = await requestJson({method: 'GET', url: this.url('/site-config'), token: this.token}, this.http)
    return {serverName: stringField(body, 'server_name', this.baseUrl, 'oauth')}
  }

  private url(path: string): URL {
    return new URL(`${this.baseUrl.href.replace(/\/+$/, '')}/api/admin/v1${path}`)
  }
}

/** A JSON:API single-resource document's id and attributes. */
function resource(body: unknown, where: URL): {id: string; attributes: Record<string, unknown>} {
  const data = (body as Record<string, unknown>).data
  const id = stringField(data ?? {}, 'id', where, 'oauth')
  const attributes = (data as Record<string, unknown>).attributes
  return {id, attributes: attributes !== null && typeof attributes === 'object' && !Array.isArray(attributes) ? (attributes as Record<string, unknown>) : {}}
}
