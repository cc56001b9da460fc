// kill -9 of `mxtok rotate` right after each of its requests, injected by a relay in front of the
// server: a password session and an admin login on the real Synapse, an OAuth session on the real
// MAS. After each kill, nothing is lost: the session's stored token works, or `mxtok doctor` names
// the session and the command that finishes it, and following it leaves the stored token the only
// one. What is left is checked where the truth is: Synapse's own database, and MAS's introspection
// and admin API (Synapse caches MAS's answers about a token for about two minutes).
import {spawn} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {REGISTRY_FILE} from '../../src/registry/registry.js'
import {BIN, expectNoSecrets, mxtokRunner, tempDir} from '../support/cli.js'
import {type KeyringSession, startKeyring} from '../support/keyring.js'
import {type KillRelay, startKillRelay} from '../support/kill-relay.js'
import {createApprovedAtMas, masAccount} from '../support/mas-suite.js'
import {type RealMas, startRealMas} from '../support/real-mas.js'
import {masSessions} from '../support/real-mas-client.js'
import {service} from '../support/services.js'
import {rawWhoami, registerUser} from '../support/synapse.js'
import {deviceTokens} from '../support/synapse-db.js'

const synapse = await service('synapse')
const PASSWORD = 'rotate kill password'
const secrets = new Set<string>([PASSWORD])
// A keyring of this file's own, as in create-kill.test.ts: a client killed mid-call can take
// gnome-keyring down, and must not take other suites' keyring along.
const keyringEnv: Record<string, string> = {}
let keyring: KeyringSession | undefined
let configDir: string
const {env, mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)
let relay: KillRelay

beforeAll(async () => {
  keyring = await startKeyring({restartOnCrash: true})
  Object.assign(keyringEnv, keyring.env)
  relay = await startKillRelay(synapse.baseUrl)
})
afterAll(async () => {
  await relay?.stop()
  await keyring?.stop()
})

/** Runs mxtok and SIGKILLs it from `through` as soon as the answer to its k-th request is on its way. */
async function killedAfter(through: KillRelay, k: number, args: string[], expected: string[]): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], {env: env() as NodeJS.ProcessEnv, stdio: ['pipe', 'ignore', 'ignore']})
  through.arm(k, child.pid!)
  child.stdin.end(`${PASSWORD}\n`)
  const signal = await new Promise((resolve) => child.on('close', (_, s) => resolve(s)))
  through.disarm()
  expect(signal, `${args[0]} was not killed after request ${k}`).toBe('SIGKILL')
  expect(through.seen).toEqual(expected.slice(0, k))
}

/** The line doctor warns of session `name` with, if any. */
async function doctorWarning(name: string): Promise<string | undefined> {
  const r = await mxtok(['doctor'])
  expect(r.code, r.stderr).toBe(0)
  expectNoSecrets(r, secrets)
  return r.stdout.split('\n').find((l) => l.startsWith('WARN') && l.includes(`"${name}"`))
}

/** The command (after "mxtok") a warning says to run. */
function advised(warning: string): string[] {
  const command = /run "mxtok ([^"]+)"/.exec(warning)?.[1]
  expect(command, `doctor names no command: ${warning}`).toBeDefined()
  return command!.split(' ')
}

/** The stored token, or null when `mxtok token` has none to give. */
async function storedToken(name: string): Promise<string | null> {
  const r = await mxtok(['token', name])
  if (r.code !== 0) return null
  const t = r.stdout.trim()
  secrets.add(t)
  return t
}

describe('rotate of a password session on Synapse, killed after each request', () => {
  // The first question goes out alone: rotate asks it once the reset is agreed to.
  const REQUESTS = ['GET /_matrix/federation/v1/version', 'POST /_matrix/client/v3/login', 'POST /_matrix/client/v3/logout', 'POST /_matrix/client/v3/login']
  let userId: string
  beforeAll(async () => {
    userId = await registerUser(synapse, `rk${process.pid}`, PASSWORD)
  })
  const createArgs = (name: string) => ['create', name, '--user', userId, '--homeserver', relay.url, '--password-stdin']

  it('sends the requests the test expects', async () => {
    configDir = tempDir('mxtok-rotate-kill-')
    expect((await mxtok(createArgs('plain'), {}, `${PASSWORD}\n`)).code).toBe(0)
    relay.disarm()
    relay.seen.length = 0
    const r = await mxtok(['rotate', 'plain', '--yes', '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
    expect(relay.seen).toEqual(REQUESTS)
  })

  for (let k = 1; k <= REQUESTS.length; k++) {
    it(`after request ${k} (${REQUESTS[k - 1]}): the stored token works, or doctor says what to run and that leaves the stored token alone on the device`, async () => {
      configDir = tempDir('mxtok-rotate-kill-')
      const name = `pw${k}`
      const device = deriveDeviceId(userId, name)
      const c = await mxtok(createArgs(name), {}, `${PASSWORD}\n`)
      expect(c.code, c.stderr).toBe(0)
      const old = await storedToken(name)
      await killedAfter(relay, k, ['rotate', name, '--yes', '--password-stdin'], REQUESTS)
      for (const t of deviceTokens(synapse.dir, userId, device)) secrets.add(t)

      const warning = await doctorWarning(name)
      if (k === 1) {
        // Nothing sent that could change the device: the old token is still the session's, alone.
        expect(warning).toBeUndefined()
        expect(await storedToken(name)).toBe(old)
        expect(deviceTokens(synapse.dir, userId, device)).toEqual([old])
        return
      }
      expect(warning).toBeDefined()
      expect(advised(warning!)).toEqual(createArgs(name).slice(0, -1))
      const again = await mxtok([...advised(warning!), '--password-stdin'], {}, `${PASSWORD}\n`)
      expect(again.code, again.stderr).toBe(0)
      const stored = await storedToken(name)
      expect(stored).not.toBeNull()
      expect(deviceTokens(synapse.dir, userId, device)).toEqual([stored])
      expect((await rawWhoami(synapse.baseUrl, stored!)).status).toBe(200)
      expect(await doctorWarning(name)).toBeUndefined()
    })
  }
})

describe('rotate of an admin login on Synapse, killed after each request', () => {
  let adminId: string
  let botId: string
  // The first asks which admin API the server has (Synapse alone answers 404: its own).
  const REQUESTS = () => [
    'GET /_matrix/client/v1/auth_metadata',
    `POST /_synapse/admin/v1/users/${encodeURIComponent(botId)}/login`,
    'POST /_matrix/client/v3/logout',
  ]
  beforeAll(async () => {
    adminId = await registerUser(synapse, `rkadmin${process.pid}`, PASSWORD, true)
    botId = await registerUser(synapse, `rkbot${process.pid}`, PASSWORD)
  })

  async function adminLogin(name: string): Promise<string> {
    configDir = tempDir('mxtok-rotate-kill-')
    const a = await mxtok(['create', 'boss', '--user', adminId, '--homeserver', relay.url, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(a.code, a.stderr).toBe(0)
    const c = await mxtok(['create', name, '--user', botId, '--as', 'boss', '--expires', '1d'])
    expect(c.code, c.stderr).toBe(0)
    return (await storedToken(name))!
  }

  it('sends the requests the test expects', async () => {
    await adminLogin('plain')
    relay.seen.length = 0
    const r = await mxtok(['rotate', 'plain'])
    expect(r.code, r.stderr).toBe(0)
    expect(relay.seen).toEqual(REQUESTS())
  })

  it('after request 2 (the admin login): the old token still works, and doctor says what makes a new one', async () => {
    const old = await adminLogin('as1')
    await killedAfter(relay, 2, ['rotate', 'as1'], REQUESTS())
    expect(await storedToken('as1')).toBe(old)
    expect((await rawWhoami(synapse.baseUrl, old)).status).toBe(200)
    const warning = await doctorWarning('as1')
    expect(warning).toMatch(/admin login of session "as1" was interrupted/)
    expect(advised(warning!)).toEqual(['create', 'as1', '--user', botId, '--as', 'boss'])
    const again = await mxtok(advised(warning!))
    expect(again.code, again.stderr).toBe(0)
    const fresh = await storedToken('as1')
    expect((await rawWhoami(synapse.baseUrl, fresh!)).status).toBe(200)
    expect((await rawWhoami(synapse.baseUrl, old)).status).toBe(401)
  })

  it('after request 3 (the old token logged out): the new token is stored and works, nothing for doctor', async () => {
    const old = await adminLogin('as2')
    await killedAfter(relay, 3, ['rotate', 'as2'], REQUESTS())
    const fresh = await storedToken('as2')
    expect(fresh).not.toBe(old)
    expect((await rawWhoami(synapse.baseUrl, fresh!)).status).toBe(200)
    expect((await rawWhoami(synapse.baseUrl, old)).status).toBe(401)
    expect(await doctorWarning('as2')).toBeUndefined()
  })
})

describe('rotate of an OAuth session on the real MAS', () => {
  let stack: RealMas
  /** In front of MAS itself, where the session's token endpoint is pointed. */
  let masRelay: KillRelay
  beforeAll(async () => {
    stack = await startRealMas()
    masRelay = await startKillRelay(stack.provided.masUrl)
  })
  afterAll(async () => {
    await masRelay?.stop()
    await stack?.stop()
  })

  /** MAS's own view of a token: its introspection, asked by the operator's client. */
  async function activeAtMas(t: string): Promise<boolean> {
    const basic = Buffer.from(`${stack.provided.adminClient.id}:${stack.provided.adminClient.secret}`).toString('base64')
    const res = await fetch(`${stack.provided.masUrl}/oauth2/introspect`, {
      method: 'POST',
      headers: {Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams({token: t}).toString(),
    })
    const body = (await res.json()) as {active?: boolean}
    if (!res.ok || typeof body.active !== 'boolean') throw new Error(`introspection at MAS: ${res.status} ${JSON.stringify(body)}`)
    return body.active
  }

  let n = 0
  /** A fresh MAS account with an OAuth session "bot" approved in MAS's pages, its refreshes sent through masRelay. */
  async function oauthSession(): Promise<{localpart: string; device: string; sessionId: string; old: string}> {
    configDir = tempDir('mxtok-rotate-kill-mas-')
    const a = await masAccount(stack, `rkmas${process.pid}x${++n}`, secrets)
    await createApprovedAtMas(['create', 'bot', '--user', a.user, '--homeserver', stack.provided.baseUrl, '--oauth'], a, env(), secrets)
    const file = join(configDir, REGISTRY_FILE)
    const registry = JSON.parse(readFileSync(file, 'utf8'))
    const grant = registry.sessions.bot.oauth
    grant.tokenEndpoint = `${masRelay.url}${new URL(grant.tokenEndpoint).pathname}`
    writeFileSync(file, JSON.stringify(registry, null, 2))
    const device = deriveDeviceId(a.user, 'bot')
    const live = await liveSessions(a.localpart, device)
    expect(live).toHaveLength(1)
    return {localpart: a.localpart, device, sessionId: live[0], old: (await storedToken('bot'))!}
  }

  /** The ids of the user's unfinished OAuth sessions at MAS that hold the device. */
  const liveSessions = async (localpart: string, device: string) =>
    (await masSessions(stack.provided, 'oauth2-sessions', localpart))
      .filter((s) => s.attributes.finished_at === null && String(s.attributes.scope).split(' ').includes(`urn:matrix:client:device:${device}`))
      .map((s) => s.id)

  it('ends the old access token at MAS, and the new one works on the same device, in the same session', async () => {
    const s = await oauthSession()
    const r = await mxtok(['rotate', 'bot', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({name: 'bot', kind: 'oauth', deviceId: s.device, deviceKept: true})
    const fresh = await storedToken('bot')
    expect(fresh).not.toBe(s.old)
    expect(await activeAtMas(s.old)).toBe(false)
    expect(await activeAtMas(fresh!)).toBe(true)
    expect(await rawWhoami(stack.provided.baseUrl, fresh!)).toMatchObject({status: 200, body: {device_id: s.device}})
    expect(await liveSessions(s.localpart, s.device)).toEqual([s.sessionId])
  })

  it('killed after its one request (the refresh): the token handed out next works at MAS, on the same device, and doctor has nothing to report', async () => {
    const s = await oauthSession()
    await killedAfter(masRelay, 1, ['rotate', 'bot'], ['POST /oauth2/token'])
    // MAS ended the stored access token when it answered the refresh that was never stored.
    expect(await activeAtMas(s.old)).toBe(false)
    expect(await doctorWarning('bot')).toBeUndefined()
    const next = await storedToken('bot')
    expect(next).not.toBeNull()
    expect(await activeAtMas(next!)).toBe(true)
    expect(await liveSessions(s.localpart, s.device)).toEqual([s.sessionId])
  })
})
