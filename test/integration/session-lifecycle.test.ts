import {execFileSync} from 'node:child_process'
import {readFileSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, inject, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {rawLogin, rawWhoami, registerUser} from '../support/synapse.js'

const synapse = inject('synapse')
const keyringEnv = inject('keyringEnv')
const PASSWORD = 'correct horse battery staple'

/** Every secret the tests have seen: none may show up in output other than `mxtok token`'s stdout. */
const secrets = new Set<string>([PASSWORD])

let userId: string
let configDir: string

const {mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)

async function create(name: string, more: string[] = [], extra: Record<string, string | undefined> = {}) {
  const r = await mxtok(['create', name, '--user', userId, '--homeserver', synapse.baseUrl, '--password-stdin', '--json', ...more], extra, `${PASSWORD}\n`)
  return r
}

async function token(name: string, extra: Record<string, string | undefined> = {}): Promise<string> {
  const r = await mxtok(['token', name], extra)
  expect(r.code, r.stderr).toBe(0)
  const t = r.stdout.trim()
  secrets.add(t)
  return t
}

function secretTool(...args: string[]): string {
  try {
    return execFileSync('secret-tool', args, {env: {...process.env, ...keyringEnv}, encoding: 'utf8'})
  } catch {
    return ''
  }
}

async function serverDevices(): Promise<string[]> {
  const login = await rawLogin(synapse.baseUrl, userId, PASSWORD, 'TESTOBSERVER')
  secrets.add(login.access_token)
  const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/devices`, {headers: {authorization: `Bearer ${login.access_token}`}})
  const body = (await res.json()) as {devices: {device_id: string}[]}
  return body.devices.map((d) => d.device_id).filter((d) => d !== 'TESTOBSERVER')
}

beforeAll(async () => {
  userId = await registerUser(synapse, `life${process.pid}`, PASSWORD)
  configDir = tempDir('mxtok-life-')
})

describe('create, token, verify, list, revoke against Synapse and the Secret Service', () => {
  it('creates a session with the derived device, in the keychain, and not in the registry file', async () => {
    const r = await create('bot')
    expect(r.code, r.stderr).toBe(0)
    const deviceId = deriveDeviceId(userId, 'bot')
    expect(JSON.parse(r.stdout)).toEqual({name: 'bot', userId, deviceId, homeserver: synapse.baseUrl, createdAt: expect.any(String)})

    const t = await token('bot')
    expect(t.length).toBeGreaterThan(10)
    expect(secretTool('lookup', 'service', 'mxtok', 'username', `${userId}/${deviceId}`)).toBe(t)
    expect(await rawWhoami(synapse.baseUrl, t)).toMatchObject({status: 200, body: {user_id: userId, device_id: deviceId}})

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
    expect((await rawWhoami(synapse.baseUrl, old)).status).toBe(401)
    expect((await rawWhoami(synapse.baseUrl, fresh)).status).toBe(200)
    expect((await serverDevices()).filter((d) => d === deriveDeviceId(userId, 'bot'))).toHaveLength(1)
  })

  it('re-creating kills tokens of the device that this machine never held', async () => {
    const deviceId = deriveDeviceId(userId, 'bot')
    // Someone else logged in with the same device ID, e.g. from another machine.
    const elsewhere = await rawLogin(synapse.baseUrl, userId, PASSWORD, deviceId)
    secrets.add(elsewhere.access_token)
    expect((await rawWhoami(synapse.baseUrl, elsewhere.access_token)).status).toBe(200)

    const r = await create('bot')
    expect(r.code, r.stderr).toBe(0)
    expect((await rawWhoami(synapse.baseUrl, elsewhere.access_token)).status).toBe(401)
    expect((await rawWhoami(synapse.baseUrl, await token('bot'))).status).toBe(200)
  })

  it('a session created from another config directory takes over the device', async () => {
    const mine = await token('bot')
    const other = tempDir('mxtok-other-')
    const r = await create('bot', [], {MXTOK_CONFIG_DIR: other})
    expect(r.code, r.stderr).toBe(0)
    expect((await rawWhoami(synapse.baseUrl, mine)).status).toBe(401)
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
    await fetch(`${synapse.baseUrl}/_matrix/client/v3/logout`, {method: 'POST', headers: {authorization: `Bearer ${t}`}, body: '{}'})
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
    const plain = await rawLogin(synapse.baseUrl, userId, PASSWORD, 'PLAINCURL')
    secrets.add(plain.access_token)

    const r = await mxtok(['list', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.sessions).toEqual([
      {name: 'bot', userId, deviceId: deriveDeviceId(userId, 'bot'), homeserver: synapse.baseUrl, onServer: true, displayName: 'mxtok: bot', lastSeenIp: expect.anything(), lastSeenTs: expect.anything()},
      {name: 'second', userId, deviceId: deriveDeviceId(userId, 'second'), homeserver: synapse.baseUrl, onServer: false, displayName: null, lastSeenIp: null, lastSeenTs: null},
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
    expect((await rawWhoami(synapse.baseUrl, t)).status).toBe(401)
    expect(await serverDevices()).not.toContain(deriveDeviceId(userId, 'bot'))
    expect(secretTool('lookup', 'service', 'mxtok', 'username', `${userId}/${deriveDeviceId(userId, 'bot')}`)).toBe('')
    const again = await mxtok(['token', 'bot'])
    expect(again.code).toBe(2)
    expectOneLineError(again)
  })

  it('revoke of a token that is already dead counts as revoked', async () => {
    expect((await create('dead')).code).toBe(0)
    const t = await token('dead')
    await fetch(`${synapse.baseUrl}/_matrix/client/v3/logout`, {method: 'POST', headers: {authorization: `Bearer ${t}`}, body: '{}'})
    const r = await mxtok(['revoke', 'dead'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Revoked session "dead"')
  })
})

describe('failures', () => {
  it('a wrong password exits 3 and stores nothing', async () => {
    const r = await mxtok(['create', 'nope', '--user', userId, '--homeserver', synapse.baseUrl, '--password-stdin'], {}, 'wrong password\n')
    expect(r.code).toBe(3)
    expectOneLineError(r)
    expect(r.stderr).not.toContain('wrong password')
    expect((await mxtok(['list', '--offline', '--json'])).stdout).not.toContain('"nope"')
  })

  it('without a session bus, create exits 6 before logging in, leaving no device', async () => {
    const before = await serverDevices()
    const r = await mxtok(['create', 'nobus', '--user', userId, '--homeserver', synapse.baseUrl], {DBUS_SESSION_BUS_ADDRESS: undefined, MXTOK_PASSWORD: PASSWORD})
    expect(r.code).toBe(6)
    expectOneLineError(r)
    expect(await serverDevices()).toEqual(before)
  })

  it('without a password source, create is a usage error that names the ways to give one', async () => {
    const r = await mxtok(['create', 'x', '--user', userId, '--homeserver', synapse.baseUrl])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--password-stdin.*MXTOK_PASSWORD/)
  })

  it('takes the password from MXTOK_PASSWORD', async () => {
    const r = await mxtok(['create', 'envpw', '--user', userId, '--homeserver', synapse.baseUrl], {MXTOK_PASSWORD: PASSWORD})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`device      ${deriveDeviceId(userId, 'envpw')}`)
  })

  it('bad input is a usage error with the same code in JSON mode', async () => {
    for (const args of [['create', '-x', '--user', userId], ['create', 'ok', '--user', 'no-at'], ['token', 'missing'], ['verify', 'missing'], ['bogus-command']]) {
      const r = await mxtok(args)
      expect(r.code, args.join(' ')).toBe(2)
    }
    const j = await mxtok(['revoke', 'missing', '--json'])
    expect(j.code).toBe(2)
    expect(JSON.parse(j.stdout)).toEqual({error: {kind: 'usage', exitCode: 2, message: expect.stringContaining('no session named "missing"')}})
  })
})
