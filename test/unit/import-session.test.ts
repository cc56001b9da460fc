import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {type ImportOptions, importSession} from '../../src/core/import-session.js'
import {type SecretStore, secretAccount} from '../../src/store/secret-store.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const HS = 'https://hs.example'
const USER = '@bot:hs.example'
const WHOAMI = '/_matrix/client/v3/account/whoami'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

const token = async () => 'syt_imported'
const run = (deps: UnitDeps, extra: Partial<ImportOptions> = {}) => importSession({name: 'bot', token, homeserver: HS, ...extra}, deps)
const whoami = (body: object, status = 200) => nock(HS).get(WHOAMI).matchHeader('authorization', 'Bearer syt_imported').reply(status, body)

async function addSession(deps: UnitDeps, name: string, deviceId: string, tokenValue: string) {
  await deps.registry.update((sessions) => {
    sessions.set(name, {name, userId: USER, homeserver: HS, deviceId, createdAt: '2025-01-01T00:00:00.000Z', store: 'keychain', auth: 'password'})
  })
  deps.memory.items.set(secretAccount(USER, deviceId), tokenValue)
}

describe('importSession', () => {
  it('keeps the token under the device that whoami names', async () => {
    const deps = unitDeps()
    const scope = whoami({user_id: USER, device_id: 'ELEMENTDEV'})
    const session = await run(deps)
    scope.done()
    expect(session).toEqual({
      name: 'bot',
      userId: USER,
      homeserver: HS,
      deviceId: 'ELEMENTDEV',
      createdAt: '2026-01-02T03:04:05.000Z',
      store: 'keychain',
      auth: 'password',
    })
    expect([...deps.memory.items]).toEqual([[`${USER}/ELEMENTDEV`, 'syt_imported']])
    expect(await deps.registry.list()).toEqual([session])
  })

  it('discovers the homeserver from --user when no --homeserver is given', async () => {
    const deps = unitDeps()
    const scope = nock('https://hs.example')
      .get('/.well-known/matrix/client')
      .reply(200, {'m.homeserver': {base_url: 'https://matrix.hs.example'}})
    const hs = nock('https://matrix.hs.example')
      .get('/_matrix/client/versions')
      .reply(200, {versions: ['v1.11']})
      .get(WHOAMI)
      .reply(200, {user_id: USER, device_id: 'DEV'})
    const session = await run(deps, {homeserver: undefined, user: USER})
    scope.done()
    hs.done()
    expect(session.homeserver).toBe('https://matrix.hs.example')
  })

  it('refuses a token of another user than --user, and keeps nothing', async () => {
    const deps = unitDeps()
    whoami({user_id: '@other:hs.example', device_id: 'DEV'})
    await expect(run(deps, {user: USER})).rejects.toMatchObject({
      kind: 'tokenInvalid',
      exitCode: 4,
      message: `the token belongs to @other:hs.example, not ${USER}; nothing was imported`,
    })
    expect(deps.memory.items.size).toBe(0)
    expect(await deps.registry.list()).toEqual([])
  })

  it('compares only the localpart when --user is one, since the server name need not be the host', async () => {
    const deps = unitDeps()
    whoami({user_id: '@bot:example.org', device_id: 'DEV'})
    expect(await run(deps, {user: 'bot'})).toMatchObject({userId: '@bot:example.org', deviceId: 'DEV'})
    whoami({user_id: '@other:example.org', device_id: 'DEV2'})
    await expect(run(deps, {name: 'two', user: 'bot'})).rejects.toMatchObject({kind: 'tokenInvalid'})
  })

  it('refuses a token without a device, such as an admin login-as token', async () => {
    const deps = unitDeps()
    whoami({user_id: USER})
    await expect(run(deps)).rejects.toMatchObject({kind: 'tokenInvalid', message: expect.stringMatching(/has no device .*mxtok create/)})
    expect(deps.memory.items.size).toBe(0)
  })

  it('says a dead token is not valid (exit 4)', async () => {
    const deps = unitDeps()
    whoami({errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.'}, 401)
    const err = await run(deps).catch((e: unknown) => e)
    expect(err).toMatchObject({kind: 'tokenInvalid', exitCode: 4})
    expect((err as Error).message).toMatch(/^hs\.example does not accept this token/)
    expect((err as Error).message).not.toContain('syt_imported')
  })

  it('refuses a device that another local session owns', async () => {
    const deps = unitDeps()
    await addSession(deps, 'owner', 'DEV', 'syt_owner')
    whoami({user_id: USER, device_id: 'DEV'})
    await expect(run(deps)).rejects.toMatchObject({kind: 'usage', message: expect.stringContaining('already belongs to session "owner"')})
    expect(deps.memory.items.get(secretAccount(USER, 'DEV'))).toBe('syt_owner')
    expect((await deps.registry.list()).map((s) => s.name)).toEqual(['owner'])
  })

  it('replaces a session of the same name, logging its other device out', async () => {
    const deps = unitDeps()
    await addSession(deps, 'bot', 'OLDDEV', 'syt_old')
    const scope = whoami({user_id: USER, device_id: 'NEWDEV'}).post('/_matrix/client/v3/logout').matchHeader('authorization', 'Bearer syt_old').reply(200, {})
    const session = await run(deps)
    scope.done()
    expect(session.deviceId).toBe('NEWDEV')
    expect([...deps.memory.items]).toEqual([[`${USER}/NEWDEV`, 'syt_imported']])
  })

  it('re-importing the same device keeps one entry and logs nothing out', async () => {
    const deps = unitDeps()
    await addSession(deps, 'bot', 'DEV', 'syt_old')
    whoami({user_id: USER, device_id: 'DEV'})
    await run(deps)
    expect([...deps.memory.items]).toEqual([[`${USER}/DEV`, 'syt_imported']])
    expect(nock.pendingMocks()).toEqual([])
  })

  it('re-importing into another store removes the copy in the old one', async () => {
    const deps = unitDeps()
    const items = new Map<string, string>()
    const file: SecretStore = {
      kind: 'file',
      check: async () => {},
      get: async (a) => items.get(a) ?? null,
      set: async (a, v) => void items.set(a, v),
      delete: async (a) => items.delete(a),
    }
    deps.store = (kind) => (kind === 'file' ? file : deps.memory)
    await deps.registry.update((sessions) => {
      sessions.set('bot', {name: 'bot', userId: USER, homeserver: HS, deviceId: 'DEV', createdAt: '2025-01-01T00:00:00.000Z', store: 'file', auth: 'password'})
    })
    items.set(secretAccount(USER, 'DEV'), 'syt_old')
    whoami({user_id: USER, device_id: 'DEV'})
    expect(await run(deps)).toMatchObject({store: 'keychain'})
    expect(items.size).toBe(0)
    expect([...deps.memory.items]).toEqual([[`${USER}/DEV`, 'syt_imported']])
  })

  it('checks the store, and what it can locally, before reading the token', async () => {
    const deps = unitDeps()
    deps.memory.failCheck = true
    let read = false
    const spy = async () => ((read = true), 'x')
    await expect(run(deps, {token: spy})).rejects.toMatchObject({kind: 'keychain'})
    await expect(run(deps, {token: spy, homeserver: undefined})).rejects.toMatchObject({kind: 'usage', message: expect.stringContaining('--homeserver')})
    await expect(run(deps, {token: spy, name: '-x'})).rejects.toMatchObject({kind: 'usage'})
    await expect(run(deps, {token: spy, homeserver: 'http://remote.example'})).rejects.toMatchObject({kind: 'usage'})
    await expect(run(deps, {token: spy, homeserver: undefined, user: 'bot'})).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringContaining('not a full Matrix ID'),
    })
    expect(read).toBe(false)
  })
})
