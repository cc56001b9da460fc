import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {describeError} from '../../src/cli/describe-error.js'
import {createSession} from '../../src/core/create-session.js'
import {heldByAnother, LEASE_MARGIN_MS, leaseUntil, type RunSelf} from '../../src/core/lease.js'
import {ownedDevices} from '../../src/core/prune-selection.js'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import type {PendingLogin, PendingPasswordLogin} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {unitDeps} from '../support/unit-deps.js'

const HS = 'https://hs.example'
const USER = '@bot:hs.example'
const DEVICE = deriveDeviceId(USER, 'bot')
const NOW = new Date('2026-01-02T03:04:05.000Z')
const SELF: RunSelf = {by: 'tester@unit-host', pid: 4242, requestMs: 2000}

const entry = (lease: Partial<Pick<PendingLogin, 'by' | 'pid' | 'until' | 'since'>>): PendingPasswordLogin => ({
  name: 'bot',
  userId: USER,
  deviceId: DEVICE,
  homeserver: HS,
  store: 'keychain',
  since: '2026-01-02T03:00:00.000Z',
  auth: 'password',
  ...lease,
})
const LATER = '2026-01-02T03:10:00.000Z'
const alive = () => true
const gone = () => false

describe('the lease of a journal entry', () => {
  it('is held by another run until it runs out, whether or not that run is of this host', () => {
    expect(heldByAnother(entry({by: 'ann@other-host', pid: 4242, until: LATER}), SELF, NOW, gone)).toBe(true)
    expect(heldByAnother(entry({by: 'ann@unit-host', pid: 17, until: LATER}), SELF, NOW, alive)).toBe(true)
    expect(heldByAnother(entry({by: 'tester@unit-host', pid: 17, until: LATER}), SELF, NOW, alive)).toBe(true)
  })

  it('is a leftover to take over: no lease (an older mxtok), run out, or its process on this host gone', () => {
    expect(heldByAnother(entry({}), SELF, NOW, alive)).toBe(false)
    expect(heldByAnother(entry({by: 'ann@other-host', pid: 17, until: NOW.toISOString()}), SELF, NOW, alive)).toBe(false)
    expect(heldByAnother(entry({by: 'ann@other-host', pid: 17, until: '2026-01-02T03:04:04.999Z'}), SELF, NOW, alive)).toBe(false)
    expect(heldByAnother(entry({by: 'ann@unit-host', pid: 17, until: LATER}), SELF, NOW, gone)).toBe(false)
  })

  it("is not held against the run's own entry", () => {
    expect(heldByAnother(entry({by: SELF.by, pid: SELF.pid, until: LATER}), SELF, NOW, alive)).toBe(false)
  })

  it("lasts the run's requests, one more to end what it made, its wait and the margin", () => {
    expect(leaseUntil(NOW, SELF, 3)).toBe(new Date(NOW.getTime() + 4 * 2000 + LEASE_MARGIN_MS).toISOString())
    expect(leaseUntil(NOW, SELF, 3, 600_000)).toBe(new Date(NOW.getTime() + 4 * 2000 + 600_000 + LEASE_MARGIN_MS).toISOString())
  })
})

describe('a create of a device that another run holds', () => {
  beforeAll(() => nock.disableNetConnect())
  afterEach(() => nock.cleanAll())
  const offersPassword = () =>
    nock(HS)
      .get('/_matrix/client/v3/login')
      .reply(200, {flows: [{type: 'm.login.password'}]})
  const create = (deps: ReturnType<typeof unitDeps>) => createSession({name: 'bot', user: USER, homeserver: HS, password: async () => 'secret-pw'}, deps)
  const journal = (deps: ReturnType<typeof unitDeps>, p: PendingLogin) => deps.registry.update((_, pending) => void pending.set(secretAccount(USER, DEVICE), p))

  it('stops before any request or password prompt, with one line and exit 7 naming the run and its lease, and leaves its entry', async () => {
    const deps = unitDeps()
    const other = entry({by: 'ann@other-host', pid: 17, until: LATER})
    await journal(deps, other)
    const flows = offersPassword()
    let asked = false
    const password = async () => {
      asked = true
      return 'secret-pw'
    }
    const error = await createSession({name: 'bot', user: USER, homeserver: HS, password}, deps).catch((e: unknown) => e)
    expect(flows.isDone()).toBe(false)
    expect(asked).toBe(false)
    expect(error).toMatchObject({exitCode: 7})
    expect(describeError(error)).toEqual({
      kind: 'config',
      message: `session "bot" (device ${DEVICE} of ${USER}) is being logged in to by another run (ann@other-host pid 17, since 2026-01-02T03:00:00.000Z, until ${LATER}); wait for it, or run this again after ${LATER} or once "mxtok doctor" shows it interrupted`,
    })
    expect(await deps.registry.pending()).toEqual([other])
    expect(deps.warnings).toEqual([])
  })

  it("takes over an entry whose lease ran out, or an older mxtok's, and journals its own lease", async () => {
    for (const left of [entry({by: 'ann@other-host', pid: 17, until: '2026-01-02T03:04:00.000Z'}), entry({})]) {
      const deps = unitDeps()
      await journal(deps, left)
      offersPassword()
      const seen: PendingLogin[][] = []
      const reply = (token: string) => async () => {
        seen.push(await deps.registry.pending())
        return {user_id: USER, access_token: token, device_id: DEVICE}
      }
      const scope = nock(HS)
        .post('/_matrix/client/v3/login')
        .reply(200, reply('first'))
        .post('/_matrix/client/v3/logout')
        .reply(200, {})
        .post('/_matrix/client/v3/login')
        .reply(200, reply('second'))
      await create(deps)
      scope.done()
      const own = {by: 'tester@unit-host', pid: process.pid, until: leaseUntil(NOW, deps.self, 3), since: NOW.toISOString()}
      expect(seen).toEqual([[{...left, ...own}], [{...left, ...own}]])
      expect(await deps.registry.pending()).toEqual([])
    }
  })

  it('is refused when it journals, if another run journalled the device after it looked (the registry update decides)', async () => {
    const deps = unitDeps()
    const other = entry({by: 'ann@other-host', pid: 17, until: LATER})
    // The other run journals between this one's first look and its own journal entry: while the flows are asked.
    nock(HS)
      .get('/_matrix/client/v3/login')
      .reply(async () => {
        await journal(deps, other)
        return [200, {flows: [{type: 'm.login.password'}]}]
      })
    await expect(create(deps)).rejects.toMatchObject({
      kind: 'config',
      message: expect.stringContaining('is being logged in to by another run (ann@other-host pid 17'),
    })
    expect(nock.pendingMocks()).toEqual([])
    expect(await deps.registry.pending()).toEqual([other])
  })

  it('records its session, and leaves the entry of a run that took the device over once its lease ran out', async () => {
    const deps = unitDeps()
    offersPassword()
    const other = entry({by: 'ann@other-host', pid: 17, until: LATER})
    const scope = nock(HS)
      .post('/_matrix/client/v3/login')
      .reply(200, {user_id: USER, access_token: 'first', device_id: DEVICE})
      .post('/_matrix/client/v3/logout')
      .reply(200, {})
      .post('/_matrix/client/v3/login')
      .reply(async () => {
        await journal(deps, other)
        return [200, {user_id: USER, access_token: 'second', device_id: DEVICE}]
      })
    await create(deps)
    scope.done()
    expect((await deps.registry.list()).map((s) => s.name)).toEqual(['bot'])
    expect(await deps.registry.pending()).toEqual([other])
  })

  it('removes, on failing, only its own entry: not one another run took over meanwhile', async () => {
    const deps = unitDeps()
    offersPassword()
    const other = entry({by: 'ann@other-host', pid: 17, until: LATER})
    nock(HS)
      .post('/_matrix/client/v3/login')
      .reply(async () => {
        await journal(deps, other)
        return [403, {errcode: 'M_FORBIDDEN', error: 'Invalid password'}]
      })
    await expect(create(deps)).rejects.toMatchObject({kind: 'loginRefused'})
    expect(await deps.registry.pending()).toEqual([other])
  })
})

describe('prune, beside a login another run holds', () => {
  it('spares its device while the lease holds, past the grace given to any journalled login', async () => {
    const deps = unitDeps()
    const old = {since: '2026-01-02T02:00:00.000Z', by: 'ann@other-host', pid: 17}
    const other = deriveDeviceId(USER, 'other')
    await deps.registry.update((_, pending) => {
      pending.set(secretAccount(USER, DEVICE), entry({...old, until: LATER}))
      pending.set(secretAccount(USER, other), {...entry({...old, until: '2026-01-02T03:00:00.000Z'}), deviceId: other})
    })
    expect([...(await ownedDevices([], USER, deps))]).toEqual([DEVICE])
  })
})
