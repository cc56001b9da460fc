// Personal tokens of a Matrix Authentication Service (MAS) as mxtok makes, ends and regenerates
// them through MAS's admin API with an admin session; the answers are MAS 1.22's.
import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {doctor} from '../../src/cli/actions/doctor.js'
import {createAdminSession} from '../../src/core/create-admin-session.js'
import {runDoctor} from '../../src/core/doctor.js'
import {importSession} from '../../src/core/import-session.js'
import {revokeSession} from '../../src/core/revoke-session.js'
import {rotateSession} from '../../src/core/rotate-session.js'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import type {Session} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {AUTH, HS, METADATA, seedOAuthSession} from '../support/mas.js'
import {testIo} from '../support/test-io.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const ROOT = '@root:hs.example'
const BOT = '@bot:hs.example'
const DEVICE = deriveDeviceId(BOT, 'bot')
const ADMIN_TOKEN = 'mat_rootAdminAccess_1a2B3c'
const MPT = 'mpt_FM44zJN5qePGMLvvMXC4Ds1A3lCWc6_bJ9Wj1'
const SESSION_ID = '01FSHN9AG07HNEZXNQM2KNBNF6'
const ACTOR = '01FSHN9AG0MZAA6S4AF7CTV32E'
const API = '/api/admin/v1'
const NOW = '2026-01-02T03:04:05.000Z'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

/** An admin user's --oauth --admin session, whose access token is good for hours. */
async function withAdmin(): Promise<UnitDeps> {
  const deps = unitDeps()
  await seedOAuthSession(deps, {
    name: 'root',
    userId: ROOT,
    deviceId: 'MXTOKROOTDEVICE',
    access: ADMIN_TOKEN,
    refresh: 'mar_rootRefresh_4d5E6f',
    expiresAt: '2026-01-03T00:00:00.000Z',
  })
  return deps
}

const personal = (attributes: Record<string, unknown> = {}, id = SESSION_ID) => ({
  type: 'personal-session',
  id,
  attributes: {
    created_at: NOW,
    revoked_at: null,
    owner_user_id: '01ROOTUSER',
    owner_client_id: null,
    actor_user_id: ACTOR,
    human_name: `mxtok: bot (${NOW})`,
    scope: `urn:matrix:client:api:* urn:matrix:client:device:${DEVICE}`,
    last_active_at: null,
    last_active_ip: null,
    expires_at: '2026-02-01T03:04:05Z',
    ...attributes,
  },
})

const botUser = {data: {type: 'user', id: ACTOR, attributes: {username: 'bot', admin: false}}}

/** The homeserver names its MAS in its auth metadata: the one probe create --as makes. */
const behindMas = () => nock(HS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)

const seedPersonal = async (deps: UnitDeps, over: Partial<Session> = {}) => {
  const session: Session = {
    name: 'bot',
    userId: BOT,
    homeserver: HS,
    deviceId: DEVICE,
    createdAt: NOW,
    store: 'keychain',
    auth: 'personal',
    personal: {id: SESSION_ID, admin: 'root'},
    expiresAt: '2026-02-01T03:04:05.000Z',
    ...over,
  } as Session
  await deps.registry.update((sessions) => void sessions.set(session.name, session))
  deps.memory.items.set(secretAccount(BOT, DEVICE), MPT)
}

describe('create --as behind MAS', () => {
  it("makes a personal token on the session's derived device, expiring in 30 days, and records its personal session", async () => {
    const deps = await withAdmin()
    const hs = behindMas()
    const mas = nock(AUTH)
      .get(`${API}/users/by-username/bot`)
      .matchHeader('authorization', `Bearer ${ADMIN_TOKEN}`)
      .reply(200, botUser)
      .post(`${API}/personal-sessions`, {
        actor_user_id: ACTOR,
        human_name: `mxtok: bot (${NOW})`,
        scope: `urn:matrix:client:api:* urn:matrix:client:device:${DEVICE}`,
        expires_in: 30 * 86_400,
      })
      .matchHeader('authorization', `Bearer ${ADMIN_TOKEN}`)
      .reply(201, {data: personal({access_token: MPT})})

    const session = await createAdminSession({name: 'bot', user: BOT, as: 'root'}, deps)

    hs.done()
    mas.done()
    expect(session).toEqual({
      name: 'bot',
      userId: BOT,
      homeserver: HS,
      deviceId: DEVICE,
      createdAt: NOW,
      store: 'keychain',
      auth: 'personal',
      personal: {id: SESSION_ID, admin: 'root'},
      expiresAt: '2026-02-01T03:04:05.000Z',
    })
    expect(deps.memory.items.get(secretAccount(BOT, DEVICE))).toBe(MPT)
    expect(await deps.registry.pending()).toEqual([])
    expect(deps.warnings).toEqual([])
  })

  it('asks for no expiry with --expires never', async () => {
    const deps = await withAdmin()
    behindMas()
    nock(AUTH)
      .get(`${API}/users/by-username/bot`)
      .reply(200, botUser)
      .post(`${API}/personal-sessions`, (b) => !('expires_in' in b))
      .reply(201, {data: personal({access_token: MPT, expires_at: null})})
    const session = await createAdminSession({name: 'bot', user: BOT, as: 'root', expires: 'never'}, deps)
    expect(session.expiresAt).toBeUndefined()
  })

  it('says in one line that neither admin API answers where MAS serves none (exit 5), leaving no journal entry', async () => {
    const deps = await withAdmin()
    behindMas()
    nock(AUTH).get(`${API}/users/by-username/bot`).reply(404, '<html>Not Found</html>', {'content-type': 'text/html'})
    await expect(createAdminSession({name: 'bot', user: BOT, as: 'root'}, deps)).rejects.toMatchObject({
      exitCode: 5,
      message:
        "neither Synapse's admin API nor the admin API of a Matrix Authentication Service answers at auth.hs.example (HTTP 404), so mxtok cannot make personal tokens; use the user's password instead, or ask the operator to serve MAS's admin API (resource \"adminapi\")",
    })
    expect(await deps.registry.pending()).toEqual([])
  })

  it('refuses a session whose token MAS does not take for its admin API (exit 3), naming the session that would do', async () => {
    const deps = await withAdmin()
    behindMas()
    nock(AUTH)
      .get(`${API}/users/by-username/bot`)
      .reply(401, {errors: [{title: 'Missing urn:mas:admin scope'}]})
    await expect(createAdminSession({name: 'bot', user: BOT, as: 'root'}, deps)).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringMatching(/the token of session "root" does not reach MAS's admin API .*Missing urn:mas:admin scope.*--oauth --admin/),
    })
  })

  it('says there is no such user when MAS has none (exit 2)', async () => {
    const deps = await withAdmin()
    behindMas()
    nock(AUTH)
      .get(`${API}/users/by-username/bot`)
      .reply(404, {errors: [{title: 'User with username "bot" not found'}]})
    await expect(createAdminSession({name: 'bot', user: BOT, as: 'root'}, deps)).rejects.toMatchObject({
      exitCode: 2,
      message: `auth.hs.example has no user ${BOT}; check the user ID`,
    })
  })

  it('leaves a journal entry, naming the personal session, when the answer never comes; doctor reports it and --fix revokes it by that name', async () => {
    const deps = await withAdmin()
    behindMas()
    nock(AUTH).get(`${API}/users/by-username/bot`).reply(200, botUser).post(`${API}/personal-sessions`).replyWithError({code: 'ECONNRESET'})
    await expect(createAdminSession({name: 'bot', user: BOT, as: 'root'}, deps)).rejects.toMatchObject({isLocal: true, notSent: false})
    const [entry] = await deps.registry.pending()
    expect(entry).toEqual({
      name: 'bot',
      userId: BOT,
      deviceId: DEVICE,
      homeserver: HS,
      store: 'keychain',
      since: NOW,
      by: 'tester@unit-host',
      pid: process.pid,
      until: '2026-01-02T03:05:09.000Z',
      auth: 'personal',
      personal: {admin: 'root', issuer: METADATA.issuer, humanName: `mxtok: bot (${NOW})`},
    })
    expect(deps.warnings).toEqual([expect.stringContaining('"mxtok doctor --fix" revokes it with session "root"')])

    const {io, stdout} = testIo(deps)
    nock(HS)
      .get('/_matrix/client/versions')
      .reply(200, {versions: ['v1.11']})
    await doctor({flags: {store: 'keychain'}}, io)
    expect(stdout()).toContain(
      `WARN create of session "bot" (a personal token of MAS) was interrupted: a personal session "mxtok: bot (${NOW})" of ${BOT} on device ${DEVICE} may exist that nobody holds; "mxtok doctor --fix" revokes it with session "root"`,
    )

    behindMas()
    nock(HS)
      .get('/_matrix/client/versions')
      .reply(200, {versions: ['v1.11']})
    const fix = nock(AUTH)
      .get(`${API}/users/by-username/bot`)
      .reply(200, botUser)
      .get(`${API}/personal-sessions`)
      .query(true)
      .reply(200, {data: [personal({human_name: 'mxtok: bot (2025-12-01T00:00:00.000Z)'}, '01SOMEOTHERSESSION'), personal()], links: {}})
      .post(`${API}/personal-sessions/${SESSION_ID}/revoke`)
      .reply(200, {data: personal({revoked_at: NOW})})
    const report = await runDoctor({configuredStore: 'keychain', fix: true}, deps)
    fix.done()
    expect(report.orphans).toEqual([expect.objectContaining({name: 'bot', fixed: true})])
    expect(await deps.registry.pending()).toEqual([])
  })
})

describe('revoke of a personal token', () => {
  it('revokes its personal session at MAS with the admin session that made it, then forgets it', async () => {
    const deps = await withAdmin()
    await seedPersonal(deps)
    behindMas()
    const mas = nock(AUTH)
      .post(`${API}/personal-sessions/${SESSION_ID}/revoke`)
      .matchHeader('authorization', `Bearer ${ADMIN_TOKEN}`)
      .reply(200, {data: personal({revoked_at: NOW})})
    expect(await revokeSession({name: 'bot'}, deps)).toMatchObject({revokedOnServer: true})
    mas.done()
    expect(await deps.registry.get('bot')).toBeUndefined()
    expect(deps.memory.items.has(secretAccount(BOT, DEVICE))).toBe(false)
  })

  it('counts one MAS revoked already (409) as revoked', async () => {
    const deps = await withAdmin()
    await seedPersonal(deps)
    behindMas()
    nock(AUTH)
      .post(`${API}/personal-sessions/${SESSION_ID}/revoke`)
      .reply(409, {errors: [{title: `Personal session with ID ${SESSION_ID} is already revoked`}]})
    expect((await revokeSession({name: 'bot'}, deps)).revokedOnServer).toBe(true)
  })

  it('keeps the session and says what to run (exit 4) when the admin session that made it is gone, asking nothing of any server', async () => {
    const deps = unitDeps()
    await seedPersonal(deps)
    const error = await revokeSession({name: 'bot'}, deps).catch((e: unknown) => e)
    expect(error).toMatchObject({
      exitCode: 4,
      message: expect.stringContaining(`session "root" that made it is gone; session "bot" was kept: run "mxtok revoke bot --as ADMIN"`),
    })
    expect(await deps.registry.get('bot')).toBeDefined()
    expect(deps.memory.items.get(secretAccount(BOT, DEVICE))).toBe(MPT)
  })

  it('keeps the session when MAS refuses (a server error), so that revoke can be run again', async () => {
    const deps = await withAdmin()
    await seedPersonal(deps)
    behindMas()
    nock(AUTH)
      .post(`${API}/personal-sessions/${SESSION_ID}/revoke`)
      .reply(500, {errors: [{title: 'Invalid repository operation'}]})
    await expect(revokeSession({name: 'bot'}, deps)).rejects.toMatchObject({message: expect.stringContaining('session "bot" was kept')})
    expect(await deps.registry.get('bot')).toBeDefined()
  })
})

describe('an imported personal token (mpt_)', () => {
  const IMPORTED_DEVICE = 'MXTOKPERSONAL01'
  const imported = async (deps: UnitDeps) => {
    nock(HS).get('/_matrix/client/v3/account/whoami').reply(200, {user_id: BOT, device_id: IMPORTED_DEVICE, is_guest: false})
    await importSession({name: 'ci', token: async () => MPT, homeserver: HS}, deps)
  }
  const onDevice = (id: string, device: string) => personal({scope: `urn:matrix:client:api:* urn:matrix:client:device:${device}`}, id)

  it('is revoked with --as: its personal session is the live one of the user holding its device', async () => {
    const deps = await withAdmin()
    await imported(deps)
    behindMas()
    const mas = nock(AUTH)
      .get(`${API}/users/by-username/bot`)
      .reply(200, botUser)
      .get(`${API}/personal-sessions`)
      .query({'filter[actor_user]': ACTOR, 'filter[status]': 'active', 'page[first]': '100'})
      .reply(200, {data: [onDevice('01OTHERDEVICE', 'MXTOKSOMEOTHER1'), onDevice(SESSION_ID, IMPORTED_DEVICE)], links: {}})
      .post(`${API}/personal-sessions/${SESSION_ID}/revoke`)
      .reply(200, {data: personal({revoked_at: NOW})})
    expect((await revokeSession({name: 'ci', as: 'root'}, deps)).revokedOnServer).toBe(true)
    mas.done()
    expect(await deps.registry.get('ci')).toBeUndefined()
  })

  it('without --as is kept, exit 4, the message naming --as and --local-only', async () => {
    const deps = await withAdmin()
    await imported(deps)
    nock(HS)
      .post('/_matrix/client/v3/logout')
      .reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token'})
      .get('/_matrix/client/v1/auth_metadata')
      .reply(200, METADATA)
    const error = await revokeSession({name: 'ci'}, deps).catch((e: unknown) => e)
    expect(error).toMatchObject({exitCode: 4, message: expect.stringContaining('run "mxtok revoke ci --as ADMIN" with an admin session of MAS')})
    expect((error as Error).message).toContain('"mxtok revoke ci --local-only"')
    expect(await deps.registry.get('ci')).toBeDefined()
  })

  it('--as on a session that holds no personal token is refused (exit 2) before any request', async () => {
    const deps = await withAdmin()
    nock(HS).get('/_matrix/client/v3/account/whoami').reply(200, {user_id: BOT, device_id: IMPORTED_DEVICE, is_guest: false})
    await importSession({name: 'plain', token: async () => 'mct_compatibilityToken_1a2B3c', homeserver: HS}, deps)
    await expect(revokeSession({name: 'plain', as: 'root'}, deps)).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringContaining('revoke it without --as'),
    })
    expect(await deps.registry.get('plain')).toBeDefined()
  })

  it('is not guessed at when two live personal sessions hold its device: kept, exit 4', async () => {
    const deps = await withAdmin()
    await imported(deps)
    behindMas()
    nock(AUTH)
      .get(`${API}/users/by-username/bot`)
      .reply(200, botUser)
      .get(`${API}/personal-sessions`)
      .query(true)
      .reply(200, {data: [onDevice('01FIRST', IMPORTED_DEVICE), onDevice('01SECOND', IMPORTED_DEVICE)], links: {}})
    await expect(revokeSession({name: 'ci', as: 'root'}, deps)).rejects.toMatchObject({
      exitCode: 4,
      message: expect.stringContaining('2 live personal sessions'),
    })
    expect(await deps.registry.get('ci')).toBeDefined()
  })
})

describe('rotate of a personal token', () => {
  const neverAsked = {
    confirmDeviceReset: async () => {
      throw new Error('asked to confirm')
    },
    password: async () => {
      throw new Error('asked for the password')
    },
  }

  it('regenerates it at MAS with the admin session that made it: same device, new token, new expiry', async () => {
    const deps = await withAdmin()
    await seedPersonal(deps, {createdAt: '2026-01-01T00:00:00.000Z'})
    behindMas()
    const mas = nock(AUTH)
      .post(`${API}/personal-sessions/${SESSION_ID}/regenerate`, {expires_in: 7 * 86_400})
      .matchHeader('authorization', `Bearer ${ADMIN_TOKEN}`)
      .reply(201, {data: personal({access_token: 'mpt_regenerated_9z8Y7x', expires_at: '2026-01-09T03:04:05Z'})})
    const result = await rotateSession({...neverAsked, name: 'bot', expires: '7d'}, deps)
    mas.done()
    expect(result).toMatchObject({
      deviceKept: true,
      session: {name: 'bot', deviceId: DEVICE, auth: 'personal', personal: {id: SESSION_ID}, expiresAt: '2026-01-09T03:04:05.000Z'},
    })
    expect(deps.memory.items.get(secretAccount(BOT, DEVICE))).toBe('mpt_regenerated_9z8Y7x')
    expect(await deps.registry.pending()).toEqual([])
  })

  it("is refused by MAS for another admin's session (403): exit 3, the old token kept, no journal entry", async () => {
    const deps = await withAdmin()
    await seedPersonal(deps)
    behindMas()
    nock(AUTH)
      .post(`${API}/personal-sessions/${SESSION_ID}/regenerate`)
      .reply(403, {errors: [{title: 'Session does not belong to you'}]})
    await expect(rotateSession({...neverAsked, name: 'bot'}, deps)).rejects.toMatchObject({
      exitCode: 3,
      message: expect.stringContaining('lets only the admin who made a personal token regenerate it'),
    })
    expect(deps.memory.items.get(secretAccount(BOT, DEVICE))).toBe(MPT)
    expect(await deps.registry.pending()).toEqual([])
  })

  it('asks for --as (exit 2), before any request, when the admin session that made it is gone', async () => {
    const deps = unitDeps()
    await seedPersonal(deps)
    await expect(rotateSession({...neverAsked, name: 'bot'}, deps)).rejects.toMatchObject({
      exitCode: 2,
      message:
        'session "bot" was made with session "root", which is gone; pass --as with a session of the admin who made it (MAS lets only that admin regenerate it)',
    })
  })

  it('killed after the request leaves its entry, and doctor says to rotate again', async () => {
    const deps = await withAdmin()
    await seedPersonal(deps)
    behindMas()
    nock(AUTH).post(`${API}/personal-sessions/${SESSION_ID}/regenerate`).replyWithError({code: 'ECONNRESET'})
    await expect(rotateSession({...neverAsked, name: 'bot'}, deps)).rejects.toMatchObject({message: expect.stringContaining('run "mxtok rotate bot" again')})
    expect(await deps.registry.pending()).toEqual([
      expect.objectContaining({auth: 'personal', personal: {admin: 'root', issuer: METADATA.issuer, id: SESSION_ID}}),
    ])
    nock(HS)
      .get('/_matrix/client/versions')
      .reply(200, {versions: ['v1.11']})
    const {io, stdout} = testIo(deps)
    await doctor({flags: {store: 'keychain'}}, io)
    expect(stdout()).toContain(
      'WARN rotate of session "bot" was interrupted: MAS may have regenerated its personal token, so the stored one may be dead; run "mxtok rotate bot" again',
    )
  })
})
