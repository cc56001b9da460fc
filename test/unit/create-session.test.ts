import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {describeError} from '../../src/cli/describe-error.js'
import {createSession} from '../../src/core/create-session.js'
import {probeDeviceId} from '../../src/core/probe-device.js'
import {MxtokError} from '../../src/errors.js'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {MatrixError} from '../../src/matrix/errors.js'
import {unitDeps} from '../support/unit-deps.js'

const HS = 'https://hs.example'
const USER = '@bot:hs.example'
const DEVICE = deriveDeviceId(USER, 'bot')
const password = async () => 'secret-pw'
const create = (deps: ReturnType<typeof unitDeps>, extra: Partial<Parameters<typeof createSession>[0]> = {}) =>
  createSession({name: 'bot', user: USER, homeserver: HS, password, ...extra}, deps)

const loginReply = (token: string, deviceId = DEVICE, userId = USER) => ({user_id: userId, access_token: token, device_id: deviceId})
/** What Synapse answers GET /login with: a password login is offered, so create never asks for OAuth metadata. */
const offersPassword = () =>
  nock(HS)
    .get('/_matrix/client/v3/login')
    .reply(200, {flows: [{type: 'm.login.password'}, {type: 'm.login.application_service'}]})

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

describe('createSession', () => {
  it('logs in, resets the device with that token, logs in again and keeps only the second token', async () => {
    const deps = unitDeps()
    offersPassword()
    const loginBody = {
      type: 'm.login.password',
      identifier: {type: 'm.id.user', user: USER},
      password: 'secret-pw',
      device_id: DEVICE,
      initial_device_display_name: 'mxtok: bot',
    }
    const scope = nock(HS)
      .post('/_matrix/client/v3/login', loginBody)
      .reply(200, loginReply('first'))
      .post('/_matrix/client/v3/logout')
      .matchHeader('authorization', 'Bearer first')
      .reply(200, {})
      .post('/_matrix/client/v3/login', loginBody)
      .reply(200, loginReply('second'))

    const session = await create(deps)

    scope.done()
    expect(session).toEqual({
      name: 'bot',
      userId: USER,
      homeserver: HS,
      deviceId: DEVICE,
      createdAt: '2026-01-02T03:04:05.000Z',
      store: 'keychain',
      auth: 'password',
    })
    expect(await deps.registry.pending()).toEqual([])
    expect([...deps.memory.items]).toEqual([[`${USER}/${DEVICE}`, 'second']])
    expect(await deps.registry.list()).toEqual([session])
  })

  describe('where the login itself ends the older tokens of the device: one login', () => {
    const says = (name: string) =>
      nock(HS)
        .get('/_matrix/federation/v1/version')
        .reply(200, {server: {name, version: '1'}})
    const oneLogin = (token: string, reply: Record<string, unknown> = {}) =>
      nock(HS)
        .post('/_matrix/client/v3/login')
        .reply(200, {...loginReply(token), ...reply})

    it('a server that names itself Dendrite: its login is kept, with no reset of the device', async () => {
      const deps = unitDeps()
      offersPassword()
      says('Dendrite')
      const scope = oneLogin('only')
      await create(deps)
      scope.done()
      expect([...deps.memory.items]).toEqual([[`${USER}/${DEVICE}`, 'only']])
      expect(await deps.registry.pending()).toEqual([])
    })

    it("a compatibility token of MAS (mct_) on the device asked for: kept, whatever the server's name", async () => {
      const deps = unitDeps()
      offersPassword()
      const scope = oneLogin('mct_only')
      await create(deps)
      scope.done()
      expect([...deps.memory.items]).toEqual([[`${USER}/${DEVICE}`, 'mct_only']])
    })

    it('Synapse, or any other name: the device is reset as before', async () => {
      const deps = unitDeps()
      offersPassword()
      says('Synapse')
      const scope = oneLogin('first')
        .post('/_matrix/client/v3/logout')
        .matchHeader('authorization', 'Bearer first')
        .reply(200, {})
        .post('/_matrix/client/v3/login')
        .reply(200, loginReply('second'))
      await create(deps)
      scope.done()
      expect([...deps.memory.items]).toEqual([[`${USER}/${DEVICE}`, 'second']])
    })

    it('a token that expires with no refresh token is not kept: the device is reset, and the login again asks for one', async () => {
      const deps = unitDeps()
      offersPassword()
      says('Dendrite')
      const scope = oneLogin('first', {expires_in_ms: 300_000})
        .post('/_matrix/client/v3/logout')
        .reply(200, {})
        .post('/_matrix/client/v3/login', (b) => b.refresh_token === true)
        .reply(200, {...loginReply('second'), expires_in_ms: 300_000, refresh_token: 'refresh'})
      await create(deps)
      scope.done()
      expect(deps.memory.items.get(`${USER}/${DEVICE}`)).toContain('second')
    })

    it('a re-create whose new token cannot be stored: the login ended the old token, so the error says so and what to run', async () => {
      const deps = unitDeps()
      const old = {
        name: 'bot',
        userId: USER,
        homeserver: HS,
        deviceId: DEVICE,
        createdAt: '2026-01-01T00:00:00.000Z',
        store: 'keychain' as const,
        auth: 'password' as const,
      }
      await deps.registry.update((sessions) => void sessions.set('bot', old))
      deps.memory.items.set(`${USER}/${DEVICE}`, 'old')
      deps.memory.failSet = true
      offersPassword()
      says('Dendrite')
      const scope = oneLogin('new').post('/_matrix/client/v3/logout').matchHeader('authorization', 'Bearer new').reply(200, {})
      const err = await create(deps).catch((e: unknown) => e)
      scope.done()
      expect((err as Error).message).toContain(
        `Session "bot" has no live token now: device ${DEVICE} was logged in to again, which ended its old token, and no new one was made; run "mxtok create bot --user ${USER} --homeserver ${HS}" to finish`,
      )
      expect(await deps.registry.list()).toEqual([old])
      expect(await deps.registry.pending()).toMatchObject([{name: 'bot', deviceId: DEVICE}])
    })
  })

  it('logs out and fails when the server hands back another device than requested', async () => {
    const deps = unitDeps()
    offersPassword()
    const scope = nock(HS)
      .post('/_matrix/client/v3/login')
      .reply(200, loginReply('tok', 'SERVERCHOSE'))
      .post('/_matrix/client/v3/logout')
      .matchHeader('authorization', 'Bearer tok')
      .reply(200, {})

    const err = await create(deps).catch((e: unknown) => e)

    scope.done()
    expect(err).toBeInstanceOf(MatrixError)
    expect((err as Error).message).toBe(
      `hs.example logged in to device SERVERCHOSE instead of the requested ${DEVICE}; the server ignores requested device IDs, so mxtok cannot manage this session (the new token was logged out)`,
    )
    expect(deps.memory.items.size).toBe(0)
    expect(await deps.registry.list()).toEqual([])
  })

  it('a rate limit on the last login of a re-create, after the reset killed the old token, says what is dead and what to run, and keeps the entry for doctor', async () => {
    const deps = unitDeps()
    const old = {
      name: 'bot',
      userId: USER,
      homeserver: HS,
      deviceId: DEVICE,
      createdAt: '2026-01-01T00:00:00.000Z',
      store: 'keychain' as const,
      auth: 'password' as const,
    }
    await deps.registry.update((sessions) => void sessions.set('bot', old))
    deps.memory.items.set(`${USER}/${DEVICE}`, 'old')
    offersPassword()
    const scope = nock(HS)
      .post('/_matrix/client/v3/login')
      .reply(200, loginReply('first'))
      .post('/_matrix/client/v3/logout')
      .reply(200, {})
      .post('/_matrix/client/v3/login')
      .reply(429, {errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 3_600_000}, {'Retry-After': '3600'})

    const err = await create(deps).catch((e: unknown) => e)

    scope.done()
    expect(describeError(err)).toEqual({
      kind: 'rateLimited',
      message:
        'hs.example is rate-limiting requests and asks to wait 3600 s, longer than mxtok waits (180 s); try again then.' +
        ` Session "bot" has no live token now: device ${DEVICE} was reset, which ended its old token, and no new one was made;` +
        ` run "mxtok create bot --user ${USER} --homeserver ${HS}" to finish ("mxtok doctor" lists it meanwhile)`,
    })
    // The dead token is gone from the store, so that `mxtok token bot` fails instead of printing it.
    expect(deps.memory.items.has(`${USER}/${DEVICE}`)).toBe(false)
    expect(await deps.registry.list()).toEqual([old])
    expect(await deps.registry.pending()).toMatchObject([{name: 'bot', userId: USER, deviceId: DEVICE, homeserver: HS}])
  })

  it('a rate limit on the last login of a first create leaves nothing behind and says to try again', async () => {
    const deps = unitDeps()
    offersPassword()
    const scope = nock(HS)
      .post('/_matrix/client/v3/login')
      .reply(200, loginReply('first'))
      .post('/_matrix/client/v3/logout')
      .reply(200, {})
      .post('/_matrix/client/v3/login')
      .reply(429, {errcode: 'M_LIMIT_EXCEEDED'}, {'Retry-After': '3600'})
    const err = await create(deps).catch((e: unknown) => e)
    scope.done()
    expect(describeError(err).kind).toBe('rateLimited')
    expect(await deps.registry.pending()).toEqual([])
    expect(await deps.registry.list()).toEqual([])
  })

  it('says the login was refused, and changes nothing, on a wrong password', async () => {
    const deps = unitDeps()
    offersPassword()
    nock(HS).post('/_matrix/client/v3/login').reply(403, {errcode: 'M_FORBIDDEN', error: 'Invalid username or password'})
    const err = await create(deps).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MxtokError)
    expect(err).toMatchObject({kind: 'loginRefused', exitCode: 3})
    expect((err as Error).message).not.toContain('secret-pw')
    expect(await deps.registry.list()).toEqual([])
    expect(await deps.registry.pending()).toEqual([])
  })

  it('keeps a pending entry, and warns, when a login gets no answer: the device may hold a token', async () => {
    const deps = unitDeps()
    offersPassword()
    nock(HS).post('/_matrix/client/v3/login').delay(5000).reply(200, loginReply('lost'))
    await expect(create(deps)).rejects.toMatchObject({errcode: 'mxtok.timeout'})
    expect(await deps.registry.pending()).toEqual([
      {
        name: 'bot',
        userId: USER,
        deviceId: DEVICE,
        homeserver: HS,
        store: 'keychain',
        since: '2026-01-02T03:04:05.000Z',
        // Its lease: four requests of 2 s and a minute.
        by: 'tester@unit-host',
        pid: process.pid,
        until: '2026-01-02T03:05:13.000Z',
        auth: 'password',
      },
    ])
    expect(deps.warnings).toEqual([
      `device ${DEVICE} of ${USER} may hold a token nobody has; run "mxtok create bot --user ${USER} --homeserver ${HS}" again to reset it ("mxtok doctor" lists it meanwhile)`,
    ])
  })

  it('keeps a pending entry when a token could not be logged out again', async () => {
    const deps = unitDeps()
    offersPassword()
    const scope = nock(HS)
      .post('/_matrix/client/v3/login')
      .reply(200, loginReply('tok', 'SERVERCHOSE'))
      .post('/_matrix/client/v3/logout')
      .times(2)
      .reply(502, 'bad gateway')
    await expect(create(deps)).rejects.toThrow(/instead of the requested/)
    scope.done()
    expect(await deps.registry.pending()).toHaveLength(1)
    expect(deps.warnings.join('\n')).toMatch(/could not log out a token that mxtok could not keep/)
  })

  it('never logs in when the store cannot be written, and never asks for the password', async () => {
    const deps = unitDeps()
    deps.memory.failCheck = true
    let asked = false
    const err = await create(deps, {password: async () => ((asked = true), 'x')}).catch((e: unknown) => e)
    expect(err).toMatchObject({kind: 'keychain'})
    expect(asked).toBe(false)
  })

  it('logs the new token out when the store fails to keep it', async () => {
    const deps = unitDeps()
    offersPassword()
    deps.memory.failSet = true
    const scope = nock(HS)
      .post('/_matrix/client/v3/login')
      .reply(200, loginReply('first'))
      .post('/_matrix/client/v3/logout')
      .reply(200, {})
      .post('/_matrix/client/v3/login')
      .reply(200, loginReply('second'))
      .post('/_matrix/client/v3/logout')
      .matchHeader('authorization', 'Bearer second')
      .reply(200, {})
    const err = await create(deps).catch((e: unknown) => e)
    scope.done()
    expect(err).toMatchObject({kind: 'keychain'})
    expect(await deps.registry.list()).toEqual([])
  })

  describe('given a localpart, on a server whose name is not its host', () => {
    const real = '@bot:example.org'
    const right = deriveDeviceId(real, 'bot')
    const probe = probeDeviceId('bot', HS, 'bot')
    /** As Synapse does: a login as the localpart or the real ID works; one completed with the host is a wrong user. */
    const server = (accept: (b: {identifier: {user: string}; device_id: string}) => string | undefined) =>
      nock(HS)
        .post('/_matrix/client/v3/login')
        .times(10)
        .reply((_, body) => {
          const b = body as {identifier: {user: string}; device_id: string; password: string}
          if (!['bot', real].includes(b.identifier.user) || b.password !== 'secret-pw')
            return [403, {errcode: 'M_FORBIDDEN', error: 'Invalid username or password'}]
          const token = accept(b)
          return token === undefined ? [500, {}] : [200, loginReply(token, b.device_id, real)]
        })

    it('learns the full ID on a probe device it journals and logs out, then names the session device after that ID', async () => {
      const deps = unitDeps()
      offersPassword()
      const logins: [string, string, unknown][] = []
      let n = 0
      server((b) => {
        logins.push([b.identifier.user, b.device_id, null])
        return `t${n++}`
      })
      const logouts = nock(HS)
        .post('/_matrix/client/v3/logout')
        .times(2)
        .reply(function () {
          logins.push(['logout', this.req.headers.authorization as string, null])
          return [200, {}]
        })
      const pendingAt: unknown[] = []
      const registry = deps.registry
      const update = registry.update.bind(registry)
      registry.update = async (change) => {
        const result = await update(change)
        pendingAt.push((await registry.pending()).map((p) => `${p.userId}/${p.deviceId}`))
        return result
      }

      const session = await create(deps, {user: 'bot'})

      logouts.done()
      expect(logins.map(([a, b]) => [a, b])).toEqual([
        ['bot', probe],
        ['logout', 'Bearer t0'],
        [real, right],
        ['logout', 'Bearer t1'],
        [real, right],
      ])
      // Probe journalled first; swapped for the session device in one update; cleared with the store write.
      expect(pendingAt).toEqual([[`bot/${probe}`], [`${real}/${right}`], []])
      expect(session).toMatchObject({userId: real, deviceId: right})
      expect([...deps.memory.items]).toEqual([[`${real}/${right}`, 't2']])
    })

    it('with --device-id, logs in to that device by localpart at once: no probe', async () => {
      const deps = unitDeps()
      offersPassword()
      const devices: string[] = []
      let n = 0
      server((b) => (devices.push(`${b.identifier.user} ${b.device_id}`), `t${n++}`))
      nock(HS).post('/_matrix/client/v3/logout').reply(200, {})
      const session = await create(deps, {user: 'bot', deviceId: 'BRIDGEDEVICE'})
      expect(devices).toEqual(['bot BRIDGEDEVICE', `${real} BRIDGEDEVICE`])
      expect(session).toMatchObject({userId: real, deviceId: 'BRIDGEDEVICE'})
      expect(await deps.registry.pending()).toEqual([])
    })

    it('costs nothing with a mistyped password: one refused login, nothing journalled', async () => {
      const deps = unitDeps()
      offersPassword()
      const scope = server(() => 'never')
      const err = await create(deps, {user: 'bot', password: async () => 'typo'}).catch((e: unknown) => e)
      expect(err).toMatchObject({kind: 'loginRefused', message: 'hs.example refused the login for bot: wrong user or password'})
      expect(scope.pendingMocks()).toHaveLength(1)
      expect(await deps.registry.pending()).toEqual([])
      expect(deps.memory.items.size).toBe(0)
    })

    it('refuses a browser sign-in, which asks for its device before the server names the account', async () => {
      const deps = unitDeps()
      nock(HS)
        .get('/_matrix/client/v3/login')
        .reply(200, {flows: [{type: 'm.login.sso'}]})
      nock(HS)
        .get('/_matrix/client/v1/auth_metadata')
        .reply(200, {
          issuer: 'https://auth.hs.example/',
          authorization_endpoint: 'https://auth.hs.example/a',
          token_endpoint: 'https://auth.hs.example/t',
          response_types_supported: ['code'],
          grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code'],
        })
      await expect(create(deps, {user: 'bot'})).rejects.toMatchObject({kind: 'usage', message: expect.stringContaining('--user @bot:<server name>')})
    })
  })

  it('refuses a full user ID that the server answers with another user', async () => {
    const deps = unitDeps()
    offersPassword()
    const scope = nock(HS)
      .post('/_matrix/client/v3/login')
      .reply(200, loginReply('tok', DEVICE, '@other:hs.example'))
      .post('/_matrix/client/v3/logout')
      .reply(200, {})
    const err = await create(deps).catch((e: unknown) => e)
    scope.done()
    expect((err as Error).message).toMatch(/logged in as @other:hs.example instead of @bot:hs.example/)
  })

  it('rejects bad input before any request', async () => {
    const deps = unitDeps()
    await expect(create(deps, {name: '-bad'})).rejects.toMatchObject({kind: 'usage'})
    await expect(create(deps, {user: '@nocolon'})).rejects.toMatchObject({kind: 'usage'})
    await expect(create(deps, {homeserver: 'http://remote.example'})).rejects.toMatchObject({kind: 'usage'})
    await expect(create(deps, {deviceId: 'has space'})).rejects.toMatchObject({kind: 'usage'})
    expect(nock.pendingMocks()).toEqual([])
  })
})
