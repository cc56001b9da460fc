// MAS's admin API as mxtok's client speaks it: the answers are those of MAS 1.22 (its handlers'
// own tests and what the real one answered), errors as JSON:API documents.
import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {JSON_API_ERROR, MatrixError} from '../../src/matrix/errors.js'
import {MasAdminClient} from '../../src/matrix/mas-admin-client.js'

const ISSUER = 'https://auth.hs.example/'
const AUTH = 'https://auth.hs.example'
const ADMIN_TOKEN = 'mat_adminTokenOfTheTests_1a2B3c'
const MPT = 'mpt_FM44zJN5qePGMLvvMXC4Ds1A3lCWc6_bJ9Wj1'
const SESSION_ID = '01FSHN9AG07HNEZXNQM2KNBNF6'
const ACTOR = '01FSHN9AG0MZAA6S4AF7CTV32E'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

const client = () => new MasAdminClient(ISSUER, ADMIN_TOKEN, {timeoutMs: 2000})

const personal = (id: string, attributes: Record<string, unknown> = {}) => ({
  type: 'personal-session',
  id,
  attributes: {
    created_at: '2026-01-02T03:04:05Z',
    revoked_at: null,
    owner_user_id: '01FSHN9AG09FE39KETP6F390F8',
    owner_client_id: null,
    actor_user_id: ACTOR,
    human_name: 'mxtok: bot',
    scope: 'urn:matrix:client:api:* urn:matrix:client:device:MXTOKABCDEFGHIJ',
    last_active_at: null,
    last_active_ip: null,
    expires_at: '2026-02-01T03:04:05Z',
    ...attributes,
  },
  links: {self: `/api/admin/v1/personal-sessions/${id}`},
})

describe('MasAdminClient personal sessions', () => {
  it('makes one with the actor, name, scope and lifetime given, and hands over its token, which the answer holds this once', async () => {
    const scope = nock(AUTH)
      .post('/api/admin/v1/personal-sessions', {
        actor_user_id: ACTOR,
        human_name: 'mxtok: bot',
        scope: 'urn:matrix:client:api:* urn:matrix:client:device:MXTOKABCDEFGHIJ',
        expires_in: 2_592_000,
      })
      .matchHeader('authorization', `Bearer ${ADMIN_TOKEN}`)
      .reply(201, {data: personal(SESSION_ID, {access_token: MPT})})
    const issued = await client().createPersonalSession({
      actorUserId: ACTOR,
      humanName: 'mxtok: bot',
      scope: ['urn:matrix:client:api:*', 'urn:matrix:client:device:MXTOKABCDEFGHIJ'],
      expiresInS: 2_592_000,
    })
    scope.done()
    expect(issued).toEqual({
      token: MPT,
      session: {
        id: SESSION_ID,
        actorUserId: ACTOR,
        humanName: 'mxtok: bot',
        scope: ['urn:matrix:client:api:*', 'urn:matrix:client:device:MXTOKABCDEFGHIJ'],
        revokedAt: null,
        expiresAt: '2026-02-01T03:04:05Z',
        kind: 'personal',
        deviceId: 'MXTOKABCDEFGHIJ',
        name: 'mxtok: bot',
        lastActiveAt: null,
        lastActiveIp: null,
      },
    })
  })

  it('sends no expires_in for a token that never expires', async () => {
    const scope = nock(AUTH)
      .post('/api/admin/v1/personal-sessions', (b) => !('expires_in' in b))
      .reply(201, {data: personal(SESSION_ID, {access_token: MPT, expires_at: null})})
    expect((await client().createPersonalSession({actorUserId: ACTOR, humanName: 'x', scope: []})).session.expiresAt).toBeNull()
    scope.done()
  })

  it('refuses an answer without the token as one that does not follow the specifications', async () => {
    nock(AUTH)
      .post('/api/admin/v1/personal-sessions')
      .reply(201, {data: personal(SESSION_ID)})
    await expect(client().createPersonalSession({actorUserId: ACTOR, humanName: 'x', scope: []})).rejects.toMatchObject({
      errcode: 'mxtok.bad_response',
      message: expect.stringContaining('"access_token"'),
    })
  })

  it('revokes one, and regenerates one with a new lifetime', async () => {
    const scope = nock(AUTH)
      .post(`/api/admin/v1/personal-sessions/${SESSION_ID}/revoke`)
      .reply(200, {data: personal(SESSION_ID, {revoked_at: '2026-01-02T03:05:00Z'})})
      .post(`/api/admin/v1/personal-sessions/${SESSION_ID}/regenerate`, {expires_in: 3600})
      .reply(201, {data: personal(SESSION_ID, {access_token: 'mpt_second', expires_at: '2026-01-02T04:05:00Z'})})
    expect((await client().revokePersonalSession(SESSION_ID)).revokedAt).toBe('2026-01-02T03:05:00Z')
    const again = await client().regeneratePersonalSession(SESSION_ID, 3600)
    expect(again).toMatchObject({token: 'mpt_second', session: {id: SESSION_ID, expiresAt: '2026-01-02T04:05:00Z'}})
    scope.done()
  })

  it("lists a user's live ones page after page, as long as MAS says there is a next", async () => {
    const first = Array.from({length: 100}, (_, i) => personal(`01FIRSTPAGE${String(i).padStart(3, '0')}`))
    const filter = {'filter[actor_user]': ACTOR, 'filter[status]': 'active', 'page[first]': '100'}
    const scope = nock(AUTH)
      .get('/api/admin/v1/personal-sessions')
      .query(filter)
      .reply(200, {meta: {count: 101}, data: first, links: {self: 'x', first: 'x', last: 'x', next: 'x'}})
      .get('/api/admin/v1/personal-sessions')
      .query({...filter, 'page[after]': '01FIRSTPAGE099'})
      .reply(200, {meta: {count: 101}, data: [personal('01SECONDPAGE')], links: {self: 'x', first: 'x', last: 'x'}})
    const all = await client().activePersonalSessions(ACTOR)
    scope.done()
    expect(all).toHaveLength(101)
    expect(all[100].id).toBe('01SECONDPAGE')
  })
})

describe('JSON:API errors', () => {
  it('are a MatrixError of errcode json_api_error, with the HTTP status and every title in one line', async () => {
    nock(AUTH)
      .post(`/api/admin/v1/personal-sessions/${SESSION_ID}/revoke`)
      .reply(409, {errors: [{title: `Personal session with ID ${SESSION_ID} is already revoked`}]})
    const error = await client()
      .revokePersonalSession(SESSION_ID)
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MatrixError)
    expect(error).toMatchObject({
      status: 409,
      errcode: JSON_API_ERROR,
      isLocal: false,
      message: `auth.hs.example answered: Personal session with ID ${SESSION_ID} is already revoked (HTTP 409)`,
    })
  })

  it('name a token without the admin scope, which MAS answers 401, as MAS says', async () => {
    nock(AUTH)
      .get('/api/admin/v1/users/by-username/bot')
      .reply(401, {errors: [{title: 'Missing urn:mas:admin scope'}]})
    await expect(client().userByUsername('bot')).rejects.toMatchObject({
      status: 401,
      errcode: JSON_API_ERROR,
      message: expect.stringContaining('Missing urn:mas:admin scope'),
    })
  })
})
