import nock from 'nock'
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {type MasSessionPruneResult, type PruneOptions, type PrunePlan, pruneDevices} from '../../src/core/prune-devices.js'
import type {MasSessionPlan} from '../../src/core/prune-selection.js'
import {MAS_LIST_MAX, MAS_MAX_PAGES, MAS_PAGE_SIZE} from '../../src/matrix/mas-admin-client.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const HS = 'https://hs.example'
const MAS = 'https://auth.hs.example'
const API = '/api/admin/v1'
const USER = '@bot:hs.example'
const USER_ULID = '01USERBOT0000000000000000'
const NOW = Date.parse('2026-01-02T03:04:05.000Z')
const DAY = 24 * 60 * 60 * 1000
const KEEPER = 'MXTOKKEEPER0001'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

const iso = (daysAgo: number | null) => (daysAgo === null ? null : new Date(NOW - daysAgo * DAY).toISOString())
const compat = (id: string, device: string | null, daysAgo: number | null) => ({
  type: 'compat-session',
  id,
  attributes: {user_id: USER_ULID, device_id: device, last_active_at: iso(daysAgo), last_active_ip: daysAgo === null ? null : '203.0.113.7', finished_at: null},
  meta: {page: {cursor: id}},
})
const oauth2 = (id: string, scope: string, daysAgo: number | null) => ({
  type: 'oauth2-session',
  id,
  attributes: {user_id: USER_ULID, scope, last_active_at: iso(daysAgo), last_active_ip: null, finished_at: null},
})
const personal = (id: string, scope: string, daysAgo: number | null, name = 'ci token') => ({
  type: 'personal-session',
  id,
  attributes: {actor_user_id: USER_ULID, human_name: name, scope, last_active_at: iso(daysAgo), last_active_ip: null, revoked_at: null},
})
const page = (data: unknown[], next = false) => ({meta: {count: data.length}, data, links: {self: 'x', first: 'x', last: 'x', ...(next ? {next: 'n'} : {})}})

/** The deps with a local session of the user on KEEPER, and the admin session "root" (any session MAS's admin API takes). */
async function setUp(): Promise<UnitDeps> {
  const deps = unitDeps()
  const session = (name: string, userId: string, deviceId: string) => ({
    name,
    userId,
    homeserver: HS,
    deviceId,
    createdAt: '2026-01-01T00:00:00.000Z',
    store: 'keychain' as const,
    auth: 'password' as const,
  })
  await deps.registry.update((sessions) => {
    sessions.set('keeper', session('keeper', USER, KEEPER))
    sessions.set('root', session('root', '@root:hs.example', 'MXTOKROOT00001'))
  })
  deps.memory.items.set(secretAccount('@root:hs.example', 'MXTOKROOT00001'), 'mat_admin')
  return deps
}

/** MAS behind the homeserver, and the user found by its localpart. */
function mas(): nock.Scope {
  nock(HS)
    .get('/_matrix/client/v1/auth_metadata')
    .reply(200, {issuer: `${MAS}/`, token_endpoint: `${MAS}/oauth2/token`})
  return nock(MAS)
    .matchHeader('authorization', 'Bearer mat_admin')
    .get(`${API}/users/by-username/bot`)
    .reply(200, {data: {type: 'user', id: USER_ULID, attributes: {username: 'bot', admin: false}}})
}

const list = (scope: nock.Scope, kind: string, data: unknown[], filter = kind === 'personal-sessions' ? 'actor_user' : 'user') =>
  scope
    .get(`${API}/${kind}`)
    .query({[`filter[${filter}]`]: USER_ULID, 'filter[status]': 'active', 'page[first]': String(MAS_PAGE_SIZE)})
    .reply(200, page(data))

/** A user with compat sessions on KEEPER (the local session's), on an orphan and on Element; an OAuth session; personal tokens, one on KEEPER. */
function sessions(): nock.Scope {
  let scope = mas()
  scope = list(scope, 'compat-sessions', [
    compat('C1', KEEPER, 100),
    compat('C2', 'MXTOKORPHAN0001', 100),
    compat('C3', 'ELEMENTWEB', 40),
    compat('C4', 'MXTOKORPHAN0002', null),
  ])
  scope = list(scope, 'oauth2-sessions', [oauth2('O1', 'urn:matrix:client:api:* urn:matrix:client:device:PHONE0000001', 1)])
  return list(scope, 'personal-sessions', [
    personal('P1', `urn:matrix:client:api:* urn:matrix:client:device:${KEEPER}`, 100),
    personal('P2', 'urn:matrix:client:api:* urn:matrix:org.matrix.msc2967.client:device:MXTOKORPHAN0003', 60),
    personal('P3', 'urn:matrix:client:api:*', 90, 'no device'),
  ])
}

function prompts(answer = true) {
  const plans: MasSessionPlan[] = []
  return {plans, password: async () => 'never asked', confirm: async (plan: PrunePlan) => (plans.push(plan as MasSessionPlan), answer)}
}

const prune = (deps: UnitDeps, p: ReturnType<typeof prompts>, extra: Partial<PruneOptions> = {}) =>
  pruneDevices({user: USER, as: 'root', password: p.password, confirm: p.confirm, ...extra}, deps) as Promise<MasSessionPruneResult>

const ids = (r: {sessions: {id: string}[]}) => r.sessions.map((s) => s.id)

describe('prune --as on a server behind MAS', () => {
  it('lists the compat, OAuth and personal sessions with their last activity and device, and a dry run ends none', async () => {
    const deps = await setUp()
    const scope = sessions()
    const p = prompts()
    const result = await prune(deps, p, {inactiveDays: 30, dryRun: true})
    scope.done()
    expect(p.plans).toEqual([])
    expect(result).toMatchObject({userId: USER, homeserver: HS, authServer: MAS, dryRun: true, ended: []})
    // Never a session on the local session's device (C1, and the personal token P1 bound to it); never one never seen (C4).
    expect(ids(result)).toEqual(['C2', 'C3', 'P2', 'P3'])
    expect(result.sessions[0]).toEqual({
      kind: 'compat',
      id: 'C2',
      deviceId: 'MXTOKORPHAN0001',
      displayName: null,
      lastSeenIp: '203.0.113.7',
      lastSeenTs: NOW - 100 * DAY,
    })
    expect(result.sessions[2]).toMatchObject({kind: 'personal', deviceId: 'MXTOKORPHAN0003', displayName: 'ci token'})
    expect(result.sessions[3]).toMatchObject({kind: 'personal', deviceId: null})
  })

  it('the selectors mean what they mean for devices: --orphans, --never-seen, --keep', async () => {
    const deps = await setUp()
    sessions()
    expect(ids(await prune(deps, prompts(), {orphans: true, dryRun: true}))).toEqual(['C2', 'C4', 'P2'])
    sessions()
    expect(ids(await prune(deps, prompts(), {neverSeen: true, dryRun: true}))).toEqual(['C4'])
    sessions()
    // Of the six not on KEEPER, the two most recently active (O1, C3) are kept.
    expect(ids(await prune(deps, prompts(), {keep: 2, dryRun: true}))).toEqual(['C2', 'C4', 'P2', 'P3'])
  })

  it('ends each selected session the way its kind is ended, after the confirmation, and says so after each', async () => {
    const deps = await setUp()
    const scope = sessions()
      .post(`${API}/compat-sessions/C2/finish`)
      .reply(200, {data: {}})
      .post(`${API}/compat-sessions/C3/finish`)
      .reply(200, {data: {}})
      .post(`${API}/personal-sessions/P2/revoke`)
      .reply(200, {data: {...personal('P2', '', null), attributes: {...personal('P2', '', null).attributes, revoked_at: iso(0)}}})
      .post(`${API}/personal-sessions/P3/revoke`)
      .reply(200, {data: {...personal('P3', '', null), attributes: {...personal('P3', '', null).attributes, revoked_at: iso(0)}}})
    const p = prompts()
    const progress: number[] = []
    const result = await prune(deps, p, {inactiveDays: 30, progress: (done) => void progress.push(done)})
    scope.done()
    expect(ids(p.plans[0])).toEqual(['C2', 'C3', 'P2', 'P3'])
    expect(result).toMatchObject({dryRun: false, ended: ['C2', 'C3', 'P2', 'P3']})
    expect(progress).toEqual([1, 2, 3, 4])
  })

  it('ends an OAuth session at its finish endpoint', async () => {
    const deps = await setUp()
    const scope = list(list(mas(), 'compat-sessions', []), 'oauth2-sessions', [
      oauth2('O1', 'urn:matrix:client:api:* urn:matrix:client:device:MXTOKORPHAN0009', 5),
    ])
    list(scope, 'personal-sessions', []).post(`${API}/oauth2-sessions/O1/finish`).reply(200, {data: {}})
    expect((await prune(deps, prompts(), {orphans: true})).ended).toEqual(['O1'])
    scope.done()
  })

  it('a declined confirmation ends nothing', async () => {
    const deps = await setUp()
    sessions()
    await expect(prune(deps, prompts(false), {orphans: true})).rejects.toMatchObject({kind: 'usage', message: 'cancelled: nothing was ended'})
  })

  it('says how many were ended when one fails, with MAS’s own words', async () => {
    const deps = await setUp()
    const scope = sessions()
      .post(`${API}/compat-sessions/C2/finish`)
      .reply(200, {data: {}})
      .post(`${API}/compat-sessions/C4/finish`)
      .reply(500, {errors: [{title: 'Internal error'}, {title: 'database went away'}]})
    const err = await prune(deps, prompts(), {orphans: true}).catch((e: unknown) => e)
    scope.done()
    expect((err as Error).message).toBe(
      'auth.hs.example answered: Internal error: database went away (HTTP 500) (1 of 3 sessions were ended before this; run prune again for the rest)',
    )
  })

  it('follows the cursor of each page, and refuses a list longer than it reads', async () => {
    const deps = await setUp()
    const more = (after?: string) => ({
      'filter[user]': USER_ULID,
      'filter[status]': 'active',
      'page[first]': String(MAS_PAGE_SIZE),
      ...(after ? {'page[after]': after} : {}),
    })
    const scope = mas()
      .get(`${API}/compat-sessions`)
      .query(more())
      .reply(200, page([compat('C1', 'MXTOKORPHAN0001', 100)], true))
      .get(`${API}/compat-sessions`)
      .query(more('C1'))
      .reply(200, page([compat('C2', 'MXTOKORPHAN0002', 100)]))
    list(scope, 'oauth2-sessions', [])
    list(scope, 'personal-sessions', [])
    expect(ids(await prune(deps, prompts(), {orphans: true, dryRun: true}))).toEqual(['C1', 'C2'])
    scope.done()

    // A server that always has a next page: the pages are bounded, then one clear line.
    mas()
    let n = 0
    nock(MAS)
      .get(`${API}/compat-sessions`)
      .query(true)
      .times(MAS_MAX_PAGES)
      .reply(200, () => page([compat(`C${++n}`, 'MXTOKORPHAN0001', 100)], true))
    nock(MAS).get(`${API}/oauth2-sessions`).query(true).reply(200, page([]))
    nock(MAS).get(`${API}/personal-sessions`).query(true).reply(200, page([]))
    await expect(prune(deps, prompts(), {orphans: true, dryRun: true})).rejects.toMatchObject({
      kind: 'homeserver',
      message: expect.stringMatching(/^auth\.hs\.example has more live compat-sessions of this user than mxtok reads \(at most 5,000 in 100 pages\)/),
    })
    expect(n).toBe(MAS_MAX_PAGES)
    expect(MAS_LIST_MAX).toBe(5000)
  })

  it('a token the admin API refuses: one line naming how to make an admin session', async () => {
    const deps = await setUp()
    nock(HS)
      .get('/_matrix/client/v1/auth_metadata')
      .reply(200, {issuer: `${MAS}/`, token_endpoint: `${MAS}/oauth2/token`})
    nock(MAS)
      .get(`${API}/users/by-username/bot`)
      .reply(401, {errors: [{title: 'Missing or invalid access token'}]})
    await expect(prune(deps, prompts(), {orphans: true})).rejects.toMatchObject({
      kind: 'loginRefused',
      message:
        'auth.hs.example refused the token of session "root" for its admin API (HTTP 401); use an admin session, made with "mxtok create ADMIN --user @admin:hs.example --oauth --admin" by a user who may ask for admin',
    })
  })

  it('a user MAS does not know is exit 2', async () => {
    const deps = await setUp()
    nock(HS)
      .get('/_matrix/client/v1/auth_metadata')
      .reply(200, {issuer: `${MAS}/`, token_endpoint: `${MAS}/oauth2/token`})
    nock(MAS)
      .get(`${API}/users/by-username/bot`)
      .reply(404, {errors: [{title: 'User with username "bot" not found'}]})
    await expect(prune(deps, prompts(), {orphans: true})).rejects.toMatchObject({kind: 'usage', message: 'auth.hs.example has no user bot; check the user ID'})
  })
})

describe('prune --as where MAS serves no admin API', () => {
  it('says so in one line', async () => {
    const deps = await setUp()
    nock(HS)
      .get('/_matrix/client/v1/auth_metadata')
      .reply(200, {issuer: `${MAS}/`, token_endpoint: `${MAS}/oauth2/token`})
    nock(MAS).get(`${API}/users/by-username/bot`).reply(404, '<html>Not Found</html>', {'content-type': 'text/html'})
    await expect(prune(deps, prompts(), {orphans: true})).rejects.toMatchObject({
      kind: 'homeserver',
      message: 'auth.hs.example serves no admin API at /api/admin/v1 (HTTP 404); MAS serves it when its http listener has the "adminapi" resource',
    })
  })
})

describe('prune without --as on a server behind MAS', () => {
  beforeEach(() => {
    nock(HS)
      .get('/_matrix/client/v1/auth_metadata')
      .reply(200, {issuer: `${MAS}/`, token_endpoint: `${MAS}/oauth2/token`})
  })

  it('says in one line what to run instead, before any password or deletion', async () => {
    const deps = await setUp()
    deps.memory.items.set(secretAccount(USER, KEEPER), 'mct_keeper')
    nock(HS).get('/_matrix/client/v3/devices').reply(200, {devices: []})
    let asked = false
    const err = await pruneDevices(
      {user: USER, homeserver: HS, orphans: true, password: async () => ((asked = true), 'pw'), confirm: async () => true},
      deps,
    ).catch((e: unknown) => e)
    expect(err).toMatchObject({
      kind: 'usage',
      message:
        'hs.example is behind MAS, which does not let clients delete devices; an admin ends sessions there: "mxtok prune --user @bot:hs.example --as ADMIN ...", ADMIN being a session made with "mxtok create ADMIN --user @admin:hs.example --oauth --admin"',
    })
    expect((err as Error).message).not.toContain('\n')
    expect(asked).toBe(false)
    expect(nock.pendingMocks()).toEqual([])
  })

  it('a homeserver whose auth metadata is no clear answer (a proxy error page) is pruned as before', async () => {
    nock.cleanAll()
    const deps = await setUp()
    deps.memory.items.set(secretAccount(USER, KEEPER), 'syt_keeper')
    nock(HS)
      .get('/_matrix/client/v3/devices')
      .reply(200, {devices: [{device_id: 'MXTOKORPHAN0001', display_name: null, last_seen_ip: null, last_seen_ts: null}]})
      .get('/_matrix/client/v1/auth_metadata')
      .reply(502, '<html>Bad Gateway</html>', {'content-type': 'text/html'})
    const result = await pruneDevices({user: USER, homeserver: HS, orphans: true, dryRun: true, password: async () => 'pw', confirm: async () => true}, deps)
    expect(result).toMatchObject({dryRun: true, devices: [{deviceId: 'MXTOKORPHAN0001'}]})
    expect(nock.pendingMocks()).toEqual([])
  })
})
