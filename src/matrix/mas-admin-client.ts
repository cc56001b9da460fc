import {MxtokError} from '../errors.js'
import {malformed, stringField} from './answer-fields.js'
import {type HttpOptions, requestJson} from './http.js'

/** A user as MAS's admin API knows it: its ULID is what the other admin endpoints take. */
export interface MasUser {
  id: string
  username: string
  admin: boolean
}

export type MasSessionKind = 'compat' | 'oauth2' | 'personal'

/** A compatibility, OAuth 2.0 or personal session, as prune sees it. */
export interface MasSession {
  kind: MasSessionKind
  /** Its ULID, which finish and revoke take. */
  id: string
  /** A compatibility session's device, or the device an OAuth or personal session's scope names; null without one. */
  deviceId: string | null
  /** The name MAS shows for it (human_name), if any. */
  name: string | null
  lastActiveAt: string | null
  lastActiveIp: string | null
}

/** Items a page of a list (MAS's default is 10). */
export const MAS_PAGE_SIZE = 100
/** The most items of one list prune reads: 50 pages. */
export const MAS_LIST_MAX = 5000
/** And the most pages, should a server give fewer items a page than asked. */
export const MAS_MAX_PAGES = 100

/** A personal session of MAS: a personal access token's session, acting as `actorUserId`. */
export interface MasPersonalSession extends MasSession {
  kind: 'personal'
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

  /** GET /compat-sessions?filter[user]&filter[status]=active: the user's live compatibility sessions (password logins, mas-cli tokens). */
  async activeCompatSessions(userId: string): Promise<MasSession[]> {
    return this.allPages('compat-sessions', {'filter[user]': userId, 'filter[status]': 'active'}, (item) => masSession(item, 'compat', this.baseUrl))
  }

  /** GET /oauth2-sessions?filter[user]&filter[status]=active: the user's live OAuth 2.0 sessions. */
  async activeOAuth2Sessions(userId: string): Promise<MasSession[]> {
    return this.allPages('oauth2-sessions', {'filter[user]': userId, 'filter[status]': 'active'}, (item) => masSession(item, 'oauth2', this.baseUrl))
  }

  /** GET /personal-sessions?filter[actor_user]&filter[status]=active: the live personal access tokens acting as the user, whoever made them. */
  async activePersonalSessions(userId: string): Promise<MasPersonalSession[]> {
    return this.allPages('personal-sessions', {'filter[actor_user]': userId, 'filter[status]': 'active'}, (item) => personalSession({data: item}, this.baseUrl))
  }

  /** POST /compat-sessions/{id}/finish: the token and its device end (MAS deletes the device at the homeserver). */
  async finishCompatSession(id: string): Promise<void> {
    await this.post(`/compat-sessions/${encodeURIComponent(id)}/finish`)
  }

  /** POST /oauth2-sessions/{id}/finish. */
  async finishOAuth2Session(id: string): Promise<void> {
    await this.post(`/oauth2-sessions/${encodeURIComponent(id)}/finish`)
  }

  private async post(path: string): Promise<void> {
    await requestJson({method: 'POST', url: this.url(path), token: this.token, emptyOk: true}, this.http)
  }

  /**
   * Every page of a list, following the cursor of each page's last item while the answer links a
   * next page; more than MAS_LIST_MAX items or MAS_MAX_PAGES pages is refused rather than read.
   */
  private async allPages<T>(path: string, filter: Record<string, string>, parse: (item: unknown) => T): Promise<T[]> {
    const sessions: T[] = []
    let after: string | undefined
    for (let pages = 1; ; pages++) {
      const url = this.url(`/${path}`)
      for (const [k, v] of Object.entries({...filter, 'page[first]': String(MAS_PAGE_SIZE), ...(after ? {'page[after]': after} : {})}))
        url.searchParams.set(k, v)
      const {body} = await requestJson({method: 'GET', url, token: this.token}, this.http)
      const data = (body as Record<string, unknown>).data
      if (!Array.isArray(data)) throw malformed(this.baseUrl, 'data', 'oauth')
      sessions.push(...data.map(parse))
      const links = (body as {links?: {next?: unknown}}).links
      if (typeof links?.next !== 'string' || data.length === 0) return sessions
      if (sessions.length >= MAS_LIST_MAX || pages >= MAS_MAX_PAGES) {
        throw new MxtokError(
          'homeserver',
          `${this.baseUrl.host} has more live ${path} of this user than mxtok reads (at most ${MAS_LIST_MAX.toLocaleString('en')} in ${MAS_MAX_PAGES} pages); end some in MAS's account page or with its admin API first`,
        )
      }
      const last = data[data.length - 1] as {id: unknown; meta?: {page?: {cursor?: unknown}}}
      const cursor = typeof last.meta?.page?.cursor === 'string' ? last.meta.page.cursor : String(last.id)
      if (cursor === after) throw malformed(this.baseUrl, 'links.next', 'oauth')
      after = cursor
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

/** Both spellings of the device scope MAS accepts: the stable one, and MSC2967's. */
const DEVICE_SCOPE = /^urn:matrix:(?:client|org\.matrix\.msc2967\.client):device:(.+)$/

function masSession(item: unknown, kind: MasSessionKind, where: URL): MasSession {
  const id = stringField(item ?? {}, 'id', where, 'oauth')
  const a = ((item as Record<string, unknown>).attributes ?? {}) as Record<string, unknown>
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null)
  const fromScope =
    typeof a.scope === 'string'
      ? a.scope
          .split(' ')
          .map((s) => DEVICE_SCOPE.exec(s)?.[1])
          .find((d) => d !== undefined)
      : undefined
  return {
    kind,
    id,
    deviceId: kind === 'compat' ? text(a.device_id) : (fromScope ?? null),
    name: text(a.human_name),
    lastActiveAt: text(a.last_active_at),
    lastActiveIp: text(a.last_active_ip),
  }
}

function personalSession(body: unknown, where: URL): MasPersonalSession {
  const {attributes: a} = resource(body, where)
  const dateOrNull = (name: string) => {
    const value = a[name]
    if (value === null || value === undefined) return null
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw malformed(where, name, 'oauth')
    return value
  }
  return {
    ...masSession((body as Record<string, unknown>).data, 'personal', where),
    kind: 'personal',
    actorUserId: stringField(a, 'actor_user_id', where, 'oauth'),
    humanName: typeof a.human_name === 'string' ? a.human_name : '',
    scope: typeof a.scope === 'string' ? a.scope.split(' ').filter(Boolean) : [],
    revokedAt: dateOrNull('revoked_at'),
    expiresAt: dateOrNull('expires_at'),
  }
}
