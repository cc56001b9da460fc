import {execFileSync} from 'node:child_process'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {type RecordingRelay, type RelayedExchange, startRecordingRelay} from '../support/recording-relay.js'
import {service} from '../support/services.js'
import {FAILED_LOGIN_LIMIT, rawLogin, rawWhoami, registerUser} from '../support/synapse.js'

// One suite, run against each homeserver implementation the test set-up starts.
const homeservers = await service('homeservers')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'correct horse battery staple'

describe.each(homeservers)('on $kind', (server) => {
  /** Every secret the tests have seen: none may show up in output other than `mxtok token`'s stdout. */
  const secrets = new Set<string>([PASSWORD])

  let userId: string
  let configDir: string

  const {mxtok, token} = mxtokRunner(keyringEnv, () => configDir, secrets)

  async function create(name: string, more: string[] = [], extra: Record<string, string | undefined> = {}) {
    const r = await mxtok(['create', name, '--user', userId, '--homeserver', server.baseUrl, '--password-stdin', '--json', ...more], extra, `${PASSWORD}\n`)
    return r
  }

  function secretTool(...args: string[]): string {
    try {
      return execFileSync('secret-tool', args, {env: {...process.env, ...keyringEnv}, encoding: 'utf8'})
    } catch {
      return ''
    }
  }

  async function serverDevices(): Promise<string[]> {
    const login = await rawLogin(server.baseUrl, userId, PASSWORD, 'TESTOBSERVER')
    secrets.add(login.access_token)
    const res = await fetch(`${server.baseUrl}/_matrix/client/v3/devices`, {headers: {authorization: `Bearer ${login.access_token}`}})
    const body = (await res.json()) as {devices: {device_id: string}[]}
    return body.devices.map((d) => d.device_id).filter((d) => d !== 'TESTOBSERVER')
  }

  beforeAll(async () => {
    userId = await registerUser(server, `life${server.kind}${process.pid}`, PASSWORD)
    configDir = tempDir('mxtok-life-')
  })

  describe('create, token, verify, list, revoke against the homeserver and the Secret Service', () => {
    it('creates a session with the derived device, in the keychain, and not in the registry file', async () => {
      const r = await create('bot')
      expect(r.code, r.stderr).toBe(0)
      const deviceId = deriveDeviceId(userId, 'bot')
      expect(JSON.parse(r.stdout)).toEqual({name: 'bot', userId, deviceId, homeserver: server.baseUrl, createdAt: expect.any(String)})

      const t = await token('bot')
      expect(t.length).toBeGreaterThan(10)
      expect(secretTool('lookup', 'service', 'mxtok', 'username', `${userId}/${deviceId}`)).toBe(t)
      expect(await rawWhoami(server.baseUrl, t)).toMatchObject({status: 200, body: {user_id: userId, device_id: deviceId}})

      const registry = join(configDir, 'sessions.json')
      expect(statSync(registry).mode & 0o777).toBe(0o600)
      expect(readFileSync(registry, 'utf8')).not.toContain(t)
      expect(readFileSync(registry, 'utf8')).toContain(deviceId)
    })

    it('re-creating kills the old token and keeps one device', async () => {
      const old = await token('bot')
      const r = await create('bot')
      expect(r.code, r.stderr).toBe(0)
      const fresh = await token('bot')
      expect(fresh).not.toBe(old)
      expect((await rawWhoami(server.baseUrl, old)).status).toBe(401)
      expect((await rawWhoami(server.baseUrl, fresh)).status).toBe(200)
      expect((await serverDevices()).filter((d) => d === deriveDeviceId(userId, 'bot'))).toHaveLength(1)
    })

    it('re-creating kills tokens of the device that this machine never held', async () => {
      const deviceId = deriveDeviceId(userId, 'bot')
      const mine = await token('bot')
      // Someone else logged in with the same device ID, e.g. from another machine.
      const elsewhere = await rawLogin(server.baseUrl, userId, PASSWORD, deviceId)
      secrets.add(elsewhere.access_token)
      expect((await rawWhoami(server.baseUrl, elsewhere.access_token)).status).toBe(200)
      // The servers differ here (docs/homeservers.md): Dendrite ends the device's old token at
      // that login, Synapse keeps it alive (element-hq/synapse#6616).
      expect((await rawWhoami(server.baseUrl, mine)).status).toBe(server.kind === 'dendrite' ? 401 : 200)

      const r = await create('bot')
      expect(r.code, r.stderr).toBe(0)
      expect((await rawWhoami(server.baseUrl, elsewhere.access_token)).status).toBe(401)
      expect((await rawWhoami(server.baseUrl, await token('bot'))).status).toBe(200)
    })

    it('a session created from another config directory takes over the device', async () => {
      const mine = await token('bot')
      const other = tempDir('mxtok-other-')
      const r = await create('bot', [], {MXTOK_CONFIG_DIR: other})
      expect(r.code, r.stderr).toBe(0)
      expect((await rawWhoami(server.baseUrl, mine)).status).toBe(401)
      await token('bot', {MXTOK_CONFIG_DIR: other})
      // Both directories name the same keychain item, so this one follows the new token.
      const v = await mxtok(['verify', 'bot', '--json'])
      expect(JSON.parse(v.stdout)).toEqual([{name: 'bot', status: 'valid', userId, deviceId: deriveDeviceId(userId, 'bot')}])
    })

    it('verify reports valid and revoked sessions and exits 4 when one is revoked', async () => {
      expect((await create('second')).code).toBe(0)
      const all = await mxtok(['verify', '--json'])
      expect(all.code, all.stderr).toBe(0)
      expect(JSON.parse(all.stdout).map((x: {status: string}) => x.status)).toEqual(['valid', 'valid'])

      const t = await token('second')
      await fetch(`${server.baseUrl}/_matrix/client/v3/logout`, {method: 'POST', headers: {authorization: `Bearer ${t}`}, body: '{}'})
      const after = await mxtok(['verify', '--json'])
      expect(after.code).toBe(4)
      expect(JSON.parse(after.stdout)).toEqual([
        {name: 'bot', status: 'valid', userId, deviceId: deriveDeviceId(userId, 'bot')},
        {name: 'second', status: 'revoked', userId, deviceId: deriveDeviceId(userId, 'second'), error: expect.any(String)},
      ])
      const human = await mxtok(['verify', 'second'])
      expect(human.code).toBe(4)
      expect(human.stdout).toMatch(/second\s+revoked/)
    })

    it('list joins the sessions with the server devices and flags orphans', async () => {
      // An mxtok device no local session owns, and a device from a plain login.
      const orphanDir = tempDir('mxtok-orphan-')
      expect((await create('stray', [], {MXTOK_CONFIG_DIR: orphanDir})).code).toBe(0)
      const plain = await rawLogin(server.baseUrl, userId, PASSWORD, 'PLAINCURL')
      secrets.add(plain.access_token)

      const r = await mxtok(['list', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const out = JSON.parse(r.stdout)
      expect(out.sessions).toEqual([
        {
          name: 'bot',
          userId,
          deviceId: deriveDeviceId(userId, 'bot'),
          homeserver: server.baseUrl,
          onServer: true,
          displayName: 'mxtok: bot',
          lastSeenIp: expect.anything(),
          lastSeenTs: expect.anything(),
        },
        {
          name: 'second',
          userId,
          deviceId: deriveDeviceId(userId, 'second'),
          homeserver: server.baseUrl,
          onServer: false,
          displayName: null,
          lastSeenIp: null,
          lastSeenTs: null,
        },
      ])
      const byId = Object.fromEntries(out.devices.map((d: {deviceId: string}) => [d.deviceId, d]))
      expect(byId[deriveDeviceId(userId, 'stray')]).toMatchObject({userId, session: null, orphan: true, displayName: 'mxtok: stray'})
      expect(byId.PLAINCURL).toMatchObject({session: null, orphan: false})

      const human = await mxtok(['list'])
      expect(human.stdout).toMatch(/^NAME\s+USER\s+DEVICE\s+ON SERVER/m)
      expect(human.stdout).toMatch(/second\s+\S+\s+\S+\s+NO/)
      expect(human.stdout).toContain('orphan: no local session')
      expect(human.stdout).not.toContain('\u001b[')

      const offline = await mxtok(['list', '--offline', '--json'], {MXTOK_TIMEOUT: '1'})
      expect(JSON.parse(offline.stdout).sessions.map((s: {onServer: unknown}) => s.onServer)).toEqual([null, null])
      expect(JSON.parse(offline.stdout).devices).toEqual([])
    })

    it('revoke keeps everything when the server cannot be reached, and --local-only forgets', async () => {
      const registry = join(configDir, 'sessions.json')
      const saved = readFileSync(registry, 'utf8')
      const broken = JSON.parse(saved)
      broken.sessions.second.homeserver = 'http://127.0.0.1:9'
      writeFileSync(registry, JSON.stringify(broken))
      const r = await mxtok(['revoke', 'second'])
      expect(r.code).toBe(5)
      expectOneLineError(r)
      expect(r.stderr).toMatch(/cannot reach 127\.0\.0\.1:9.*session "second" was kept/)
      expect(JSON.parse(readFileSync(registry, 'utf8')).sessions.second).toBeDefined()

      const local = await mxtok(['revoke', 'second', '--local-only', '--json'])
      expect(local.code, local.stderr).toBe(0)
      expect(local.stderr).toMatch(/its token may still work/)
      expect(JSON.parse(readFileSync(registry, 'utf8')).sessions.second).toBeUndefined()
      expect(secretTool('lookup', 'service', 'mxtok', 'username', `${userId}/${deriveDeviceId(userId, 'second')}`)).toBe('')
    })

    it('revoke logs the token out, deletes the device and forgets the session', async () => {
      const t = await token('bot')
      const r = await mxtok(['revoke', 'bot', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({name: 'bot', revokedOnServer: true})
      expect((await rawWhoami(server.baseUrl, t)).status).toBe(401)
      expect(await serverDevices()).not.toContain(deriveDeviceId(userId, 'bot'))
      expect(secretTool('lookup', 'service', 'mxtok', 'username', `${userId}/${deriveDeviceId(userId, 'bot')}`)).toBe('')
      const again = await mxtok(['token', 'bot'])
      expect(again.code).toBe(2)
      expectOneLineError(again)
    })

    it('revoke of a token that is already dead counts as revoked', async () => {
      expect((await create('dead')).code).toBe(0)
      const t = await token('dead')
      await fetch(`${server.baseUrl}/_matrix/client/v3/logout`, {method: 'POST', headers: {authorization: `Bearer ${t}`}, body: '{}'})
      const r = await mxtok(['revoke', 'dead'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain('Revoked session "dead"')
    })
  })

  describe('a 429 that carries only retry_after_ms', () => {
    let relay: RecordingRelay
    let limitedUser: string
    let limitedDir: string
    const limitedEnv = () => ({HOME: limitedDir, MXTOK_CONFIG_DIR: limitedDir})

    beforeAll(async () => {
      limitedUser = await registerUser(server, `limited${server.kind}${process.pid}`, PASSWORD)
      limitedDir = tempDir('mxtok-limited-')
      // Synapse also sends Retry-After; the relay drops it, so that only the body says how long.
      relay = await startRecordingRelay(server.baseUrl, {dropHeaders: ['retry-after']})
      return () => relay.stop()
    })

    /** The server's 429 and the retry of the same request that followed it, as the relay saw them. */
    function limitedThenRetried(path: string): [RelayedExchange, RelayedExchange] {
      const tries = relay.exchanges.filter((e) => e.path === path)
      const first = tries.findIndex((e) => e.status === 429)
      expect(first, JSON.stringify(tries.map((e) => e.status))).toBeGreaterThanOrEqual(0)
      expect(tries[first + 1]?.status, JSON.stringify(tries.map((e) => e.status))).toBe(200)
      return [tries[first], tries[first + 1]]
    }

    function expectWaited([limited, retried]: [RelayedExchange, RelayedExchange]): void {
      expect(limited.body).toMatchObject({errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: expect.any(Number)})
      expect(limited.headers).not.toHaveProperty('retry-after')
      // Synapse sends the header too, Dendrite never does (docs/homeservers.md).
      expect('retry-after' in limited.upstreamHeaders).toBe(server.kind === 'synapse')
      const asked = (limited.body as {retry_after_ms: number}).retry_after_ms
      expect(asked).toBeGreaterThan(0)
      // Timer slack: the relay stamps arrival, mxtok starts its wait a little after the answer left.
      expect(retried.at - limited.at).toBeGreaterThanOrEqual(asked - 50)
    }

    it(
      server.kind === 'synapse'
        ? 'create waits out a login 429 after failed logins, then logs in'
        : 'verify waits out a whoami 429 after a burst on its device, then checks',
      async () => {
        if (server.kind === 'synapse') {
          // Synapse limits failed logins per account, and then refuses even the right password.
          for (let i = 0; i < FAILED_LOGIN_LIMIT.burst_count; i++) {
            await expect(rawLogin(server.baseUrl, limitedUser, 'not the password')).rejects.toThrow(/403/)
          }
          const r = await mxtok(
            ['create', 'limited', '--user', limitedUser, '--homeserver', relay.url, '--password-stdin', '--json'],
            limitedEnv(),
            `${PASSWORD}\n`,
          )
          expect(r.code, r.stderr).toBe(0)
          expectWaited(limitedThenRetried('/_matrix/client/v3/login'))
          const t = await token('limited', limitedEnv())
          expect((await rawWhoami(server.baseUrl, t)).status).toBe(200)
          return
        }
        // Dendrite limits each device to a number of requests per cool-off: a burst on the session's
        // device fills every slot, and mxtok's whoami lands while they are still held.
        const c = await mxtok(['create', 'limited', '--user', limitedUser, '--homeserver', relay.url, '--password-stdin'], limitedEnv(), `${PASSWORD}\n`)
        expect(c.code, c.stderr).toBe(0)
        const t = await token('limited', limitedEnv())
        const burst = await Promise.all(Array.from({length: 60}, () => rawWhoami(server.baseUrl, t)))
        expect(burst.filter((b) => b.status === 429).length).toBeGreaterThan(0)
        const v = await mxtok(['verify', 'limited', '--json'], limitedEnv())
        expect(v.code, v.stderr).toBe(0)
        expect(JSON.parse(v.stdout)).toEqual([{name: 'limited', status: 'valid', userId: limitedUser, deviceId: deriveDeviceId(limitedUser, 'limited')}])
        expectWaited(limitedThenRetried('/_matrix/client/v3/account/whoami'))
      },
    )
  })

  describe('failures', () => {
    it('a wrong password exits 3 and stores nothing', async () => {
      const r = await mxtok(['create', 'nope', '--user', userId, '--homeserver', server.baseUrl, '--password-stdin'], {}, 'wrong password\n')
      expect(r.code).toBe(3)
      expectOneLineError(r)
      expect(r.stderr).not.toContain('wrong password')
      expect((await mxtok(['list', '--offline', '--json'])).stdout).not.toContain('"nope"')
    })

    it('without a session bus, create exits 6 before logging in, leaving no device', async () => {
      const before = await serverDevices()
      const r = await mxtok(['create', 'nobus', '--user', userId, '--homeserver', server.baseUrl], {
        DBUS_SESSION_BUS_ADDRESS: undefined,
        MXTOK_PASSWORD: PASSWORD,
      })
      expect(r.code).toBe(6)
      expectOneLineError(r)
      expect(await serverDevices()).toEqual(before)
    })

    it('without a password source, create is a usage error that names the ways to give one', async () => {
      const r = await mxtok(['create', 'x', '--user', userId, '--homeserver', server.baseUrl])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/--password-stdin.*MXTOK_PASSWORD/)
    })

    it('takes the password from MXTOK_PASSWORD', async () => {
      const r = await mxtok(['create', 'envpw', '--user', userId, '--homeserver', server.baseUrl], {MXTOK_PASSWORD: PASSWORD})
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain(`device      ${deriveDeviceId(userId, 'envpw')}`)
    })

    it('bad input is a usage error with the same code in JSON mode', async () => {
      for (const args of [
        ['create', '-x', '--user', userId],
        ['create', 'ok', '--user', 'no-at'],
        ['token', 'missing'],
        ['verify', 'missing'],
        ['bogus-command'],
      ]) {
        const r = await mxtok(args)
        expect(r.code, args.join(' ')).toBe(2)
      }
      const j = await mxtok(['revoke', 'missing', '--json'])
      expect(j.code).toBe(2)
      expect(JSON.parse(j.stdout)).toEqual({error: {kind: 'usage', exitCode: 2, message: expect.stringContaining('no session named "missing"')}})
    })
  })
})
