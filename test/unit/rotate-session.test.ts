import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {rotate} from '../../src/cli/actions/rotate.js'
import {rotateSession} from '../../src/core/rotate-session.js'
import type {Session} from '../../src/registry/session.js'
import {newAdminLoginKey} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {AUTH, CLIENT_ID, HS, seedOAuthSession, tokenReply} from '../support/mas.js'
import {testIo} from '../support/test-io.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const USER = '@bot:hs.example'
const ADMIN = '@boss:hs.example'
const DEVICE = 'MXTOKBOTDEVICE'
const base = {userId: USER, homeserver: HS, createdAt: '2026-01-01T00:00:00.000Z', store: 'keychain'} as const

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

async function seed(deps: UnitDeps, session: Session, secret: string) {
  await deps.registry.update((sessions) => void sessions.set(session.name, session))
  deps.memory.items.set(secretAccount(session.userId, session.deviceId), secret)
}

const seedPassword = (deps: UnitDeps) => seed(deps, {...base, name: 'bot', deviceId: DEVICE, auth: 'password'}, 'syt_old')

const neverAsked = {
  confirmDeviceReset: async () => {
    throw new Error('asked to confirm')
  },
  password: async () => {
    throw new Error('asked for the password')
  },
}

describe('rotate a password session', () => {
  it('asks first, then logs in on the same device, resets it (ending the old token) and keeps the second login', async () => {
    const deps = unitDeps()
    await seedPassword(deps)
    const asked: string[] = []
    const login = {type: 'm.login.password', identifier: {type: 'm.id.user', user: USER}, password: 'secret-pw', device_id: DEVICE}
    const scope = nock(HS)
      .post('/_matrix/client/v3/login', (b) => b.device_id === login.device_id && b.password === login.password)
      .reply(200, {user_id: USER, access_token: 'syt_first', device_id: DEVICE})
      .post('/_matrix/client/v3/logout')
      .matchHeader('authorization', 'Bearer syt_first')
      .reply(200, {})
      .post('/_matrix/client/v3/login', (b) => b.device_id === login.device_id)
      .reply(200, {user_id: USER, access_token: 'syt_new', device_id: DEVICE})

    const result = await rotateSession(
      {
        name: 'bot',
        confirmDeviceReset: async (s) => (asked.push(`confirm ${s.deviceId}`), true),
        password: async (u) => (asked.push(`password ${u}`), 'secret-pw'),
      },
      deps,
    )

    scope.done()
    expect(asked).toEqual([`confirm ${DEVICE}`, `password ${USER}`])
    expect(result).toMatchObject({deviceKept: false, rotatedAt: '2026-01-02T03:04:05.000Z', session: {name: 'bot', deviceId: DEVICE, auth: 'password'}})
    expect(deps.memory.items.get(secretAccount(USER, DEVICE))).toBe('syt_new')
    expect(await deps.registry.pending()).toEqual([])
    expect(deps.warnings).toEqual([])
  })

  it('sends nothing and asks no password when the reset is declined', async () => {
    const deps = unitDeps()
    await seedPassword(deps)
    await expect(rotateSession({...neverAsked, name: 'bot', confirmDeviceReset: async () => false}, deps)).rejects.toMatchObject({exitCode: 2})
    expect(deps.memory.items.get(secretAccount(USER, DEVICE))).toBe('syt_old')
  })

  it('refuses without --yes when nobody can be asked: exit 2, saying to pass --yes, nothing sent, the token unchanged', async () => {
    const deps = unitDeps()
    await seedPassword(deps)
    const t = testIo(deps, {env: {MXTOK_PASSWORD: 'secret-pw'}})
    const err = await rotate({args: {name: 'bot'}, flags: {}} as Parameters<typeof rotate>[0], t.io).catch((e: unknown) => e)
    expect(err).toMatchObject({kind: 'usage', exitCode: 2})
    expect((err as Error).message).toBe(
      `not rotating "bot" without confirmation: device ${DEVICE} of ${USER} is logged out and made again, which deletes its end-to-end encryption keys; pass --yes`,
    )
    expect(deps.memory.items.get(secretAccount(USER, DEVICE))).toBe('syt_old')
  })

  it('with --yes and --json answers what was rotated and that the device was made again, never a token', async () => {
    const deps = unitDeps()
    await seedPassword(deps)
    nock(HS)
      .post('/_matrix/client/v3/login')
      .reply(200, {user_id: USER, access_token: 'syt_first', device_id: DEVICE})
      .post('/_matrix/client/v3/logout')
      .reply(200, {})
      .post('/_matrix/client/v3/login')
      .reply(200, {user_id: USER, access_token: 'syt_new', device_id: DEVICE})
    const t = testIo(deps, {json: true, env: {MXTOK_PASSWORD: 'secret-pw'}})
    const outcome = await rotate({args: {name: 'bot'}, flags: {yes: true}} as Parameters<typeof rotate>[0], t.io)
    expect(outcome).toEqual({
      exitCode: 0,
      result: {name: 'bot', kind: 'password', userId: USER, deviceId: DEVICE, homeserver: HS, rotatedAt: '2026-01-02T03:04:05.000Z', deviceKept: false},
    })
    expect(t.stdout() + t.stderr()).not.toMatch(/syt_|secret-pw/)
  })
})

describe('rotate an OAuth session', () => {
  it('refreshes though no refresh is due and stores the new pair, keeping the device, asking nothing', async () => {
    const deps = unitDeps()
    const OLD = {access: 'mat_oldAccessToken_1a2B3c', refresh: 'mar_oldRefreshToken_4d5E6f'}
    await seedOAuthSession(deps, {userId: USER, deviceId: DEVICE, ...OLD, expiresAt: '2026-01-02T04:00:00.000Z'})
    const NEW = tokenReply(2, DEVICE)
    const scope = nock(AUTH).post('/oauth2/token', {grant_type: 'refresh_token', refresh_token: OLD.refresh, client_id: CLIENT_ID}).reply(200, NEW)

    const result = await rotateSession({...neverAsked, name: 'bot'}, deps)

    scope.done()
    expect(result).toMatchObject({deviceKept: true, session: {name: 'bot', deviceId: DEVICE, auth: 'oauth'}})
    expect(JSON.parse(deps.memory.items.get(secretAccount(USER, DEVICE))!)).toMatchObject({access_token: NEW.access_token, refresh_token: NEW.refresh_token})
  })
})

describe('rotate an OAuth session killed between the refresh and the write of its answer', () => {
  it('finds the stored pair already due when the server answers: its next use refreshes again, instead of handing out the token the server just ended', async () => {
    const deps = unitDeps()
    const OLD = {access: 'mat_oldAccessToken_1a2B3c', refresh: 'mar_oldRefreshToken_4d5E6f'}
    await seedOAuthSession(deps, {userId: USER, deviceId: DEVICE, ...OLD, expiresAt: '2026-01-02T04:00:00.000Z'})
    const account = secretAccount(USER, DEVICE)
    let storedWhenAnswered: {access_token: string; refresh_token: string; expires_at: string} | undefined
    const scope = nock(AUTH)
      .post('/oauth2/token')
      .reply(200, () => {
        storedWhenAnswered = JSON.parse(deps.memory.items.get(account)!)
        return tokenReply(2, DEVICE)
      })

    await rotateSession({...neverAsked, name: 'bot'}, deps)

    scope.done()
    expect(storedWhenAnswered).toMatchObject({access_token: OLD.access, refresh_token: OLD.refresh})
    expect(Date.parse(storedWhenAnswered!.expires_at)).toBeLessThanOrEqual(deps.now().getTime())
  })
})

describe('rotate an admin login', () => {
  it("makes it again with the admin's session, then logs the old token out", async () => {
    const deps = unitDeps()
    await seed(deps, {...base, name: 'boss', userId: ADMIN, deviceId: 'BOSSDEVICE', auth: 'password'}, 'syt_boss')
    const oldKey = newAdminLoginKey('OLDKEY')
    await seed(deps, {...base, name: 'bot', deviceId: oldKey, auth: 'admin', admin: {by: ADMIN}, expiresAt: '2026-01-20T00:00:00.000Z'}, 'syt_oldadmin')
    const scope = nock(HS)
      // Synapse alone: no auth metadata, so no Matrix Authentication Service and its personal tokens.
      .get('/_matrix/client/v1/auth_metadata')
      .reply(404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
      .post(`/_synapse/admin/v1/users/${encodeURIComponent(USER)}/login`, {valid_until_ms: Date.parse('2026-01-02T03:04:05.000Z') + 7 * 86_400_000})
      .matchHeader('authorization', 'Bearer syt_boss')
      .reply(200, {access_token: 'syt_newadmin'})
      .post('/_matrix/client/v3/logout')
      .matchHeader('authorization', 'Bearer syt_oldadmin')
      .reply(200, {})

    const result = await rotateSession({...neverAsked, name: 'bot', expires: '7d'}, deps)

    scope.done()
    const s = result.session
    expect(s).toMatchObject({name: 'bot', auth: 'admin', admin: {by: ADMIN}, expiresAt: '2026-01-09T03:04:05.000Z'})
    expect(s.deviceId).not.toBe(oldKey)
    expect(deps.memory.items.get(secretAccount(USER, s.deviceId))).toBe('syt_newadmin')
    expect(deps.memory.items.has(secretAccount(USER, oldKey))).toBe(false)
    expect(await deps.registry.pending()).toEqual([])
    expect(deps.warnings).toEqual([])
  })

  it('asks for --as when the admin who made it has no local session, before any request', async () => {
    const deps = unitDeps()
    await seed(deps, {...base, name: 'bot', deviceId: newAdminLoginKey('OLDKEY'), auth: 'admin', admin: {by: ADMIN}}, 'syt_oldadmin')
    await expect(rotateSession({...neverAsked, name: 'bot'}, deps)).rejects.toMatchObject({
      exitCode: 2,
      message: `session "bot" was made by ${ADMIN}, and there is no local session of ${ADMIN}; pass --as with the session of a server admin`,
    })
  })
})
