import {malformed, stringField} from './answer-fields.js'
import {type HttpOptions, requestJson} from './http.js'

/** A user as MAS's admin API knows it: its ULID is what the other admin endpoints take. */
export interface MasUser {
  id: string
  username: string
  admin: boolean
}

/** A personal session of MAS: a personal access token's session, acting as `actorUserId`. */
export interface MasPersonalSession {
  id: string
  actorUserId: string
  humanName: string
  scope: string[]
  /** null while the session lives. */
  revokedAt: string | null
  /** When its current token dies; null: never. */
  expiresAt: string | null
}

/** What a personal session is made with (POST /personal-sessions). */
export interface NewPersonalSession {
  actorUserId: string
  humanName: string
  scope: string[]
  /** Seconds; without it the token never expires. */
  expiresInS?: number
}

/** A personal session with its token, which MAS gives in this one answer and never again. */
export interface IssuedPersonalToken {
  session: MasPersonalSession
  token: string
}

/** The most sessions one page of a list holds (MAS's own cap is 100). */
const PAGE_SIZE = 100

/**
 * The admin API of a Matrix Authentication Service (MAS), under api/admin/v1 at its issuer: one
 * method per endpoint, each called with a token of scope urn:mas:admin (an admin user's OAuth
 * session, or an operator's client by client credentials). Answers are JSON:API documents
 * ({"data": {"type", "id", "attributes"}}); errors ({"errors": [{"title"}]}) are MatrixError with
 * errcode JSON_API_ERROR, like every answer of a server mxtok talks to.
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

  /** POST /personal-sessions: a new personal session, owned by the caller, and its first token. */
  async createPersonalSession(s: NewPersonalSession): Promise<IssuedPersonalToken> {
    const body = {
      actor_user_id: s.actorUserId,
      human_name: s.humanName,
      scope: s.scope.join(' '),
      ...(s.expiresInS === undefined ? {} : {expires_in: s.expiresInS}),
    }
    const answer = await requestJson({method: 'POST', url: this.url('/personal-sessions'), token: this.token, body}, this.http)
    return this.issued(answer.body)
  }

  /** POST /personal-sessions/{id}/revoke: the session and its token end; 409 when it had already. */
  async revokePersonalSession(id: string): Promise<MasPersonalSession> {
    const {body} = await requestJson({method: 'POST', url: this.url(`/personal-sessions/${encodeURIComponent(id)}/revoke`), token: this.token}, this.http)
    return personalSession(body, this.baseUrl)
  }

  /**
   * POST /personal-sessions/{id}/regenerate: the session (its scope, so its device) stays, its token
   * is replaced and the old one revoked. Only the session's owner may (403 otherwise); a revoked
   * session is not revived (422).
   */
  async regeneratePersonalSession(id: string, expiresInS?: number): Promise<IssuedPersonalToken> {
    const body = expiresInS === undefined ? {} : {expires_in: expiresInS}
    const answer = await requestJson(
      {method: 'POST', url: this.url(`/personal-sessions/${encodeURIComponent(id)}/regenerate`), token: this.token, body},
      this.http,
    )
    return this.issued(answer.body)
  }

  /** GET /personal-sessions?filter[actor_user]=…&filter[status]=active, every page: the user's live personal sessions. */
  async activePersonalSessions(actorUserId: string): Promise<MasPersonalSession[]> {
    const found: MasPersonalSession[] = []
    let after: string | undefined
    for (;;) {
      const url = this.url('/personal-sessions')
      url.searchParams.set('filter[actor_user]', actorUserId)
      url.searchParams.set('filter[status]', 'active')
      url.searchParams.set('page[first]', String(PAGE_SIZE))
      if (after !== undefined) url.searchParams.set('page[after]', after)
      const {body} = await requestJson({method: 'GET', url, token: this.token}, this.http)
      const data = (body as Record<string, unknown>).data
      if (!Array.isArray(data)) throw malformed(this.baseUrl, 'data', 'oauth')
      const page = data.map((d) => personalSession({data: d}, this.baseUrl))
      found.push(...page)
      const links = (body as Record<string, unknown>).links as Record<string, unknown> | undefined
      if (page.length === 0 || typeof links?.next !== 'string') return found
      after = page[page.length - 1].id
    }
  }

  private issued(body: unknown): IssuedPersonalToken {
    const session = personalSession(body, this.baseUrl)
    const {attributes} = resource(body, this.baseUrl)
    return {session, token: stringField(attributes, 'access_token', this.baseUrl, 'oauth')}
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

function personalSession(body: unknown, where: URL): MasPersonalSession {
  const {id, attributes: a} = resource(body, where)
  const dateOrNull = (name: string) => {
    const value = a[name]
    if (value === null || value === undefined) return null
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw malformed(where, name, 'oauth')
    return value
  }
  return {
    id,
    actorUserId: stringField(a, 'actor_user_id', where, 'oauth'),
    humanName: typeof a.human_name === 'string' ? a.human_name : '',
    scope: typeof a.scope === 'string' ? a.scope.split(' ').filter(Boolean) : [],
    revokedAt: dateOrNull('revoked_at'),
    expiresAt: dateOrNull('expires_at'),
  }
}
