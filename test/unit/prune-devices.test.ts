import nock from 'nock'
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {isNeverSeen} from '../../src/core/never-seen.js'
import {
  DELETE_BATCH_SIZE,
  type DevicePruneResult,
  type PruneOptions,
  type PrunePlan,
  pruneDevices,
  TEMPORARY_DEVICE_NAME,
} from '../../src/core/prune-devices.js'
import type {DevicePlan} from '../../src/core/prune-selection.js'
import {MatrixClient} from '../../src/matrix/client.js'
import {LocalErrcode, MatrixError} from '../../src/matrix/errors.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const HS = 'https://hs.example'
const USER = '@bot:hs.example'
const NOW = Date.parse('2026-01-02T03:04:05.000Z')
const DAY = 24 * 60 * 60 * 1000
const DELETE = '/_matrix/client/v3/delete_devices'
const KEEPER = 'MXTOKKEEPER0001'

const device = (id: string, daysAgo: number | null) => ({
  device_id: id,
  display_name: null,
  last_seen_ip: daysAgo === null ? null : '203.0.113.7',
  last_seen_ts: daysAgo === null ? null : NOW - daysAgo * DAY,
})
const DEVICES = [device(KEEPER, 100), device('MXTOKORPHAN0001', 100), device('MXTOKORPHAN0002', null), device('ELEMENTWEB', 100), device('PHONE', 1)]
// What Synapse answers to delete_devices without auth.
const CHALLENGE = {session: 'S1', flows: [{stages: ['m.login.password']}], params: {}}

beforeAll(() => nock.disableNetConnect())
// The homeservers here have no next-generation auth (MAS): prune asks before it deletes anything.
beforeEach(() => {
  for (const hs of [HS, 'https://new.hs.example', 'https://other.example'])
    nock(hs).get('/_matrix/client/v1/auth_metadata').reply(404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'}).persist()
})
afterEach(() => nock.cleanAll())
/** The interceptors a test set up and no request used. */
const unused = () => nock.pendingMocks().filter((m) => !m.endsWith('/_matrix/client/v1/auth_metadata'))

async function withKeeper(token = 'syt_keeper') {
  const deps = unitDeps()
  await deps.registry.update((sessions) => {
    sessions.set('keeper', {
      name: 'keeper',
      userId: USER,
      homeserver: HS,
      deviceId: KEEPER,
      createdAt: '2026-01-01T00:00:00.000Z',
      store: 'keychain',
      auth: 'password',
    })
  })
  deps.memory.items.set(secretAccount(USER, KEEPER), token)
  return deps
}

/** Records the order of the questions the user is asked. */
function prompts(confirmAnswer = true) {
  const asked: string[] = []
  const plans: DevicePlan[] = []
  return {
    asked,
    plans,
    password: async () => (asked.push('password'), 'pw'),
    confirm: async (plan: PrunePlan) => (asked.push('confirm'), plans.push(plan as DevicePlan), confirmAnswer),
  }
}

const prune = (deps: UnitDeps, p: ReturnType<typeof prompts>, extra: Partial<PruneOptions> = {}) =>
  pruneDevices({user: USER, homeserver: HS, orphans: true, password: p.password, confirm: p.confirm, ...extra}, deps) as Promise<DevicePruneResult>

/** The delete request sent with the password and the session of the server's challenge. */
const withPassword =
  (devices: string[], password = 'pw') =>
  (body: {devices: string[]; auth?: Record<string, unknown>}) =>
    JSON.stringify(body) === JSON.stringify({devices, auth: {type: 'm.login.password', identifier: {type: 'm.id.user', user: USER}, password, session: 'S1'}})

const withoutAuth = (devices: string[]) => (body: {devices: string[]; auth?: unknown}) => JSON.stringify(body) === JSON.stringify({devices})

function uia(scope: nock.Scope, token: string, devices: string[]) {
  return scope
    .post(DELETE, withoutAuth(devices))
    .matchHeader('authorization', `Bearer ${token}`)
    .reply(401, CHALLENGE)
    .post(DELETE, withPassword(devices))
    .matchHeader('authorization', `Bearer ${token}`)
    .reply(200, {})
}

describe('pruneDevices with a live local session', () => {
  it("deletes the orphans through UIA, using the session's token, asking for the password only after the confirmation", async () => {
    const deps = await withKeeper()
    const p = prompts()
    const scope = uia(
      nock(HS).get('/_matrix/client/v3/devices').matchHeader('authorization', 'Bearer syt_keeper').reply(200, {devices: DEVICES}),
      'syt_keeper',
      ['MXTOKORPHAN0001', 'MXTOKORPHAN0002'],
    )
    const result = await prune(deps, p)
    scope.done()
    expect(p.asked).toEqual(['confirm', 'password'])
    expect(p.plans[0].devices.map((d) => d.deviceId)).toEqual(['MXTOKORPHAN0001', 'MXTOKORPHAN0002'])
    expect(result).toMatchObject({userId: USER, homeserver: HS, dryRun: false, deleted: ['MXTOKORPHAN0001', 'MXTOKORPHAN0002']})
    expect(result.devices[0]).toEqual({deviceId: 'MXTOKORPHAN0001', displayName: null, lastSeenIp: '203.0.113.7', lastSeenTs: NOW - 100 * DAY})
  })

  it('spares the device of a create under way, and not one whose journal entry is old', async () => {
    const deps = await withKeeper()
    await deps.registry.update((_, pending) => {
      const entry = (deviceId: string, minutesAgo: number) => ({
        userId: USER,
        deviceId,
        homeserver: HS,
        store: 'keychain' as const,
        since: new Date(NOW - minutesAgo * 60_000).toISOString(),
        auth: 'password' as const,
      })
      pending.set(secretAccount(USER, 'MXTOKORPHAN0001'), entry('MXTOKORPHAN0001', 1))
      pending.set(secretAccount(USER, 'MXTOKORPHAN0002'), entry('MXTOKORPHAN0002', 60))
    })
    const p = prompts()
    const scope = uia(nock(HS).get('/_matrix/client/v3/devices').reply(200, {devices: DEVICES}), 'syt_keeper', ['MXTOKORPHAN0002'])
    const result = await prune(deps, p)
    scope.done()
    expect(result.deleted).toEqual(['MXTOKORPHAN0002'])
    // The abandoned create's journal goes with its device, or doctor would go on naming it.
    expect((await deps.registry.pending()).map((e) => e.deviceId)).toEqual(['MXTOKORPHAN0001'])
  })

  it('given a localpart and a homeserver serving another server name, uses the local session of that account', async () => {
    // example.org delegates to hs.example: the ID is not @bot:hs.example, and no login is needed to find that out.
    const delegated = '@bot:example.org'
    const deps = unitDeps()
    await deps.registry.update((sessions) => {
      sessions.set('keeper', {
        name: 'keeper',
        userId: delegated,
        homeserver: HS,
        deviceId: KEEPER,
        createdAt: '2026-01-01T00:00:00.000Z',
        store: 'keychain',
        auth: 'password',
      })
    })
    deps.memory.items.set(secretAccount(delegated, KEEPER), 'syt_keeper')
    const p = prompts()
    const asDelegated = (body: {devices: string[]; auth?: {identifier?: {user?: string}}}) => body.auth?.identifier?.user === delegated
    const scope = nock(HS)
      .get('/_matrix/client/v3/devices')
      .matchHeader('authorization', 'Bearer syt_keeper')
      .reply(200, {devices: DEVICES})
      .post(DELETE, withoutAuth(['MXTOKORPHAN0001', 'MXTOKORPHAN0002']))
      .reply(401, CHALLENGE)
      .post(DELETE, asDelegated)
      .matchHeader('authorization', 'Bearer syt_keeper')
      .reply(200, {})
    const result = await prune(deps, p, {user: 'bot'})
    scope.done()
    expect(result).toMatchObject({userId: delegated, deleted: ['MXTOKORPHAN0001', 'MXTOKORPHAN0002']})
    expect(p.asked).toEqual(['confirm', 'password'])
  })

  it("--inactive-days selects devices last seen before the cutoff, never one never seen nor a local session's", async () => {
    const deps = await withKeeper()
    nock(HS).get('/_matrix/client/v3/devices').reply(200, {devices: DEVICES})
    const result = await prune(deps, prompts(), {orphans: false, inactiveDays: 30, dryRun: true})
    expect(result.devices.map((d) => d.deviceId)).toEqual(['MXTOKORPHAN0001', 'ELEMENTWEB'])
  })

  it("--never-seen selects the devices with no name that were never seen, as shared-secret registration leaves, never a local session's", async () => {
    const deps = await withKeeper()
    const registered = {device_id: 'REGISTERED', display_name: null, last_seen_ip: null, last_seen_ts: null}
    const namedUnseen = {...registered, device_id: 'NAMEDUNSEEN', display_name: 'a bridge'}
    const keeperUnseen = {...registered, device_id: KEEPER}
    nock(HS)
      .get('/_matrix/client/v3/devices')
      .reply(200, {devices: [registered, namedUnseen, keeperUnseen, device('ELEMENTWEB', 100)]})
    const result = await prune(deps, prompts(), {orphans: false, neverSeen: true, dryRun: true})
    expect(result.devices.map((d) => d.deviceId)).toEqual(['REGISTERED'])
    expect(isNeverSeen({displayName: null, lastSeenTs: null})).toBe(true)
    expect(isNeverSeen({displayName: null, lastSeenTs: 1})).toBe(false)
  })

  it('with both selectors, selects the devices that match both', async () => {
    const deps = await withKeeper()
    nock(HS).get('/_matrix/client/v3/devices').reply(200, {devices: DEVICES})
    const result = await prune(deps, prompts(), {inactiveDays: 30, dryRun: true})
    expect(result.devices.map((d) => d.deviceId)).toEqual(['MXTOKORPHAN0001'])
  })

  it('a dry run only lists: no confirmation, no password, no delete request', async () => {
    const deps = await withKeeper()
    const p = prompts()
    nock(HS).get('/_matrix/client/v3/devices').reply(200, {devices: DEVICES})
    const result = await prune(deps, p, {dryRun: true})
    expect(result).toMatchObject({dryRun: true, deleted: [], devices: [{deviceId: 'MXTOKORPHAN0001'}, {deviceId: 'MXTOKORPHAN0002'}]})
    expect(p.asked).toEqual([])
    expect(unused()).toEqual([])
  })

  it('with nothing selected, asks nothing and deletes nothing', async () => {
    const deps = await withKeeper()
    const p = prompts()
    nock(HS)
      .get('/_matrix/client/v3/devices')
      .reply(200, {devices: [device(KEEPER, 1), device('PHONE', 1)]})
    expect(await prune(deps, p)).toMatchObject({devices: [], deleted: []})
    expect(p.asked).toEqual([])
  })

  it('a declined confirmation deletes nothing', async () => {
    const deps = await withKeeper()
    const p = prompts(false)
    nock(HS).get('/_matrix/client/v3/devices').reply(200, {devices: DEVICES})
    await expect(prune(deps, p)).rejects.toMatchObject({kind: 'usage', message: 'cancelled: nothing was deleted'})
    expect(p.asked).toEqual(['confirm'])
  })

  it('a wrong password is exit 3, and the message carries no password', async () => {
    const deps = await withKeeper()
    nock(HS)
      .get('/_matrix/client/v3/devices')
      .reply(200, {devices: DEVICES})
      .post(DELETE, withoutAuth(['MXTOKORPHAN0001', 'MXTOKORPHAN0002']))
      .reply(401, CHALLENGE)
      .post(DELETE, withPassword(['MXTOKORPHAN0001', 'MXTOKORPHAN0002']))
      .reply(401, {...CHALLENGE, completed: [], errcode: 'M_FORBIDDEN', error: 'Invalid username or password'})
    const err = await prune(deps, prompts()).catch((e: unknown) => e)
    expect(err).toMatchObject({kind: 'loginRefused', exitCode: 3, message: `hs.example refused the password for ${USER}: wrong password; nothing was deleted`})
    expect(unused()).toEqual([])
  })

  it('deletes in batches, each with its own authentication, asking for the password once', async () => {
    const deps = await withKeeper()
    const p = prompts()
    const orphans = Array.from({length: DELETE_BATCH_SIZE + 50}, (_, i) => `MXTOK${String(i).padStart(10, '0')}`)
    let scope = nock(HS)
      .get('/_matrix/client/v3/devices')
      .reply(200, {devices: orphans.map((id) => device(id, 5))})
    scope = uia(scope, 'syt_keeper', orphans.slice(0, DELETE_BATCH_SIZE))
    scope = uia(scope, 'syt_keeper', orphans.slice(DELETE_BATCH_SIZE))
    const result = await prune(deps, p)
    scope.done()
    expect(result.deleted).toEqual(orphans)
    expect(p.asked).toEqual(['confirm', 'password'])
  })

  it('deletes thousands in batches of 1,000, saying how far it got after each', async () => {
    const deps = await withKeeper()
    const orphans = Array.from({length: 2500}, (_, i) => `MXTOK${String(i).padStart(10, '0')}`)
    let scope = nock(HS)
      .get('/_matrix/client/v3/devices')
      .reply(200, {devices: orphans.map((id) => device(id, 5))})
    for (const batch of [orphans.slice(0, 1000), orphans.slice(1000, 2000), orphans.slice(2000)]) scope = uia(scope, 'syt_keeper', batch)
    const progress: [number, number][] = []
    const result = await prune(deps, prompts(), {progress: (deleted, total) => void progress.push([deleted, total])})
    scope.done()
    expect(result.deleted).toHaveLength(2500)
    expect(progress).toEqual([
      [1000, 2500],
      [2000, 2500],
      [2500, 2500],
    ])
  })

  it('says how many were deleted when a later batch fails', async () => {
    const deps = await withKeeper()
    const orphans = Array.from({length: DELETE_BATCH_SIZE + 1}, (_, i) => `MXTOK${String(i).padStart(10, '0')}`)
    const scope = uia(
      nock(HS)
        .get('/_matrix/client/v3/devices')
        .reply(200, {devices: orphans.map((id) => device(id, 5))}),
      'syt_keeper',
      orphans.slice(0, DELETE_BATCH_SIZE),
    )
      .post(DELETE)
      .reply(500, {errcode: 'M_UNKNOWN', error: 'Internal server error'})
    const err = await prune(deps, prompts()).catch((e: unknown) => e)
    scope.done()
    expect(err).toBeInstanceOf(MatrixError)
    expect((err as Error).message).toBe(
      `Internal server error (${DELETE_BATCH_SIZE} of ${DELETE_BATCH_SIZE + 1} devices were deleted before this; run prune again for the rest)`,
    )
  })

  it('explains a server that does not let clients delete devices (MAS answers 404)', async () => {
    const deps = await withKeeper()
    nock(HS)
      .get('/_matrix/client/v3/devices')
      .reply(200, {devices: DEVICES})
      .post(DELETE)
      .reply(404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
    await expect(prune(deps, prompts())).rejects.toMatchObject({status: 404, message: expect.stringContaining('does not let clients delete devices')})
  })

  it('deletes without the password when the server asks for no authentication', async () => {
    const deps = await withKeeper()
    const p = prompts()
    nock(HS)
      .get('/_matrix/client/v3/devices')
      .reply(200, {devices: DEVICES})
      .post(DELETE, withoutAuth(['MXTOKORPHAN0001', 'MXTOKORPHAN0002']))
      .reply(200, {})
    expect((await prune(deps, p)).deleted).toHaveLength(2)
    expect(p.asked).toEqual(['confirm'])
  })
})

/** A client whose delete_devices failures carry the answer's JSON, as UIA needs. */
class UiaClient extends MatrixClient {
  readonly auths: (Record<string, unknown> | undefined)[] = []
  constructor(private readonly answers: MatrixError[]) {
    super(HS)
  }
  async deleteDevices(_token: string, _ids: string[], auth?: Record<string, unknown>): Promise<void> {
    this.auths.push(auth)
    const answer = this.answers.shift()
    if (answer) throw answer
  }
}
const challengeError = (body: Record<string, unknown>) => new MatrixError({status: 401, errcode: LocalErrcode.badResponse, message: 'HTTP 401', body})

describe('pruneDevices reading the UIA challenge', () => {
  it('sends the session of the challenge back with the password', async () => {
    const deps = await withKeeper()
    nock(HS).get('/_matrix/client/v3/devices').reply(200, {devices: DEVICES})
    const client = new UiaClient([challengeError(CHALLENGE)])
    deps.client = () => client
    await prune(deps, prompts())
    expect(client.auths).toEqual([undefined, {type: 'm.login.password', identifier: {type: 'm.id.user', user: USER}, password: 'pw', session: 'S1'}])
  })

  it('fails without asking for the password when no flow is a password alone', async () => {
    const deps = await withKeeper()
    const p = prompts()
    nock(HS).get('/_matrix/client/v3/devices').reply(200, {devices: DEVICES})
    const client = new UiaClient([
      challengeError({session: 'S1', flows: [{stages: ['m.login.sso']}, {stages: ['m.login.password', 'm.login.email.identity']}]}),
    ])
    deps.client = () => client
    await expect(prune(deps, p)).rejects.toMatchObject({
      kind: 'loginRefused',
      message: expect.stringContaining('(it asks for: m.login.sso, m.login.password + m.login.email.identity)'),
    })
    expect(p.asked).toEqual(['confirm'])
    expect(client.auths).toEqual([undefined])
  })
})

describe('pruneDevices without a live local session', () => {
  const ALL_ORPHANS = [KEEPER, 'MXTOKORPHAN0001', 'MXTOKORPHAN0002']

  /** Login with a fresh MXTOK… device; it shows in the device list, looking like an orphan. */
  function loginScope(userId = USER) {
    let temporary = ''
    const scope = nock(HS)
      .post('/_matrix/client/v3/login', (b) => {
        temporary = b.device_id
        return (
          /^MXTOK[A-Z2-7]{10}$/.test(b.device_id) &&
          b.initial_device_display_name === TEMPORARY_DEVICE_NAME &&
          b.password === 'pw' &&
          b.identifier.user === USER
        )
      })
      .reply(200, () => ({user_id: userId, access_token: 'syt_temp', device_id: temporary}))
    return {scope, temporary: () => temporary}
  }
  const listDevices = (scope: nock.Scope, temporary: () => string) =>
    scope
      .get('/_matrix/client/v3/devices')
      .matchHeader('authorization', 'Bearer syt_temp')
      .reply(200, () => ({devices: [...DEVICES, device(temporary(), 0)]}))
  const logout = (scope: nock.Scope) => scope.post('/_matrix/client/v3/logout').matchHeader('authorization', 'Bearer syt_temp').reply(200, {})

  it('logs in with a temporary device, leaves it out, and logs it out at the end', async () => {
    const deps = unitDeps()
    const p = prompts()
    const {scope, temporary} = loginScope()
    logout(uia(listDevices(scope, temporary), 'syt_temp', ALL_ORPHANS))
    const result = await prune(deps, p)
    scope.done()
    expect(result.deleted).toEqual(ALL_ORPHANS)
    expect(p.asked).toEqual(['password', 'confirm'])
  })

  it('logs the temporary device out when the deletion fails', async () => {
    const deps = unitDeps()
    const {scope, temporary} = loginScope()
    logout(
      listDevices(scope, temporary)
        .post(DELETE)
        .reply(401, CHALLENGE)
        .post(DELETE)
        .reply(401, {...CHALLENGE, errcode: 'M_FORBIDDEN', error: 'Invalid username or password'}),
    )
    await expect(prune(deps, prompts())).rejects.toMatchObject({kind: 'loginRefused'})
    scope.done()
  })

  it('logs the temporary device out when the confirmation is refused, and for a dry run', async () => {
    const deps = unitDeps()
    const first = loginScope()
    logout(listDevices(first.scope, first.temporary))
    await expect(prune(deps, prompts(false))).rejects.toMatchObject({kind: 'usage'})
    first.scope.done()

    const second = loginScope()
    logout(listDevices(second.scope, second.temporary))
    expect((await prune(deps, prompts(), {dryRun: true})).devices.map((d) => d.deviceId)).toEqual(ALL_ORPHANS)
    second.scope.done()
  })

  it('warns, and still fails with the real error, when the temporary device cannot be logged out', async () => {
    const deps = unitDeps()
    const {scope, temporary} = loginScope()
    listDevices(scope, temporary).post('/_matrix/client/v3/logout').reply(500, {errcode: 'M_UNKNOWN', error: 'boom'})
    await expect(prune(deps, prompts(false))).rejects.toMatchObject({message: 'cancelled: nothing was deleted'})
    expect(deps.warnings).toEqual([
      expect.stringMatching(/^could not log out the temporary device MXTOK\w{10} \(boom\); "mxtok prune --orphans" deletes it later$/),
    ])
  })

  it("falls back to a temporary login when the local session's token is dead", async () => {
    const deps = await withKeeper('syt_dead')
    const dead = nock(HS)
      .get('/_matrix/client/v3/devices')
      .matchHeader('authorization', 'Bearer syt_dead')
      .reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.'})
    const {scope, temporary} = loginScope()
    logout(listDevices(scope, temporary))
    const result = await prune(deps, prompts(), {dryRun: true})
    dead.done()
    scope.done()
    // The dead session still owns its device: prune never deletes a local session's device.
    expect(result.devices.map((d) => d.deviceId)).toEqual(['MXTOKORPHAN0001', 'MXTOKORPHAN0002'])
  })

  it('refuses a login answered as another user, after logging it out', async () => {
    const deps = unitDeps()
    const {scope} = loginScope('@other:hs.example')
    logout(scope)
    await expect(prune(deps, prompts())).rejects.toMatchObject({message: expect.stringContaining('logged in as @other:hs.example instead of @bot:hs.example')})
    scope.done()
  })

  it('a wrong password at login is exit 3', async () => {
    const deps = unitDeps()
    nock(HS).post('/_matrix/client/v3/login').reply(403, {errcode: 'M_FORBIDDEN', error: 'Invalid username or password'})
    await expect(prune(deps, prompts())).rejects.toMatchObject({kind: 'loginRefused', exitCode: 3})
  })
})

describe('pruneDevices input', () => {
  it('needs a selector and a sensible number of days, before any request or question', async () => {
    const deps = await withKeeper()
    const p = prompts()
    await expect(prune(deps, p, {orphans: false})).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringContaining('--orphans, --never-seen, --inactive-days N'),
    })
    await expect(prune(deps, p, {inactiveDays: 0})).rejects.toMatchObject({kind: 'usage'})
    await expect(prune(deps, p, {inactiveDays: 1.5})).rejects.toMatchObject({kind: 'usage'})
    await expect(prune(deps, p, {user: 'bot', homeserver: undefined})).rejects.toMatchObject({kind: 'usage'})
    await expect(prune(deps, p, {homeserver: 'http://remote.example'})).rejects.toMatchObject({kind: 'usage'})
    expect(p.asked).toEqual([])
  })

  it("sends a session's token only to that session's homeserver", async () => {
    const deps = await withKeeper()
    const other = 'https://other.example'
    const scope = nock(other).post('/_matrix/client/v3/login').reply(403, {errcode: 'M_FORBIDDEN', error: 'no'})
    await expect(prune(deps, prompts(), {homeserver: other})).rejects.toMatchObject({kind: 'loginRefused'})
    scope.done()
  })

  it('does not guess between different homeservers recorded for the user when their tokens are dead', async () => {
    const deps = await withKeeper()
    await deps.registry.update((sessions) => {
      sessions.set('moved', {
        name: 'moved',
        userId: USER,
        homeserver: 'https://new.hs.example',
        deviceId: 'MXTOKMOVED00001',
        createdAt: '2026-01-01T00:00:00.000Z',
        store: 'keychain',
        auth: 'password',
      })
    })
    const dead = nock(HS).get('/_matrix/client/v3/devices').reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'gone'})
    const p = prompts()
    await expect(prune(deps, p, {homeserver: undefined})).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringMatching(/name different homeservers \(https:\/\/hs\.example, https:\/\/new\.hs\.example\); say which with --homeserver$/),
    })
    dead.done()
    expect(p.asked).toEqual([])
  })
})
