// kill -9 of `mxtok create` right after each of its requests, injected by a relay in front of the
// real Synapse, and the outcome counted where it matters: the access tokens Synapse's own database
// holds for the session's device.
import {spawn} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {BIN, expectNoSecrets, expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {type KeyringSession, startKeyring} from '../support/keyring.js'
import {type KillRelay, startKillRelay} from '../support/kill-relay.js'
import {service} from '../support/services.js'
import {registerUser} from '../support/synapse.js'
import {deviceTokens, userDevices} from '../support/synapse-db.js'

const synapse = await service('synapse')
// A keyring of this file's own: a client killed with a call under way can abort gnome-keyring 42
// (upstream #190; see settleBusCalls), and the kills here must not take other suites' keyring along.
const keyringEnv: Record<string, string> = {}
let keyring: KeyringSession | undefined
const PASSWORD = 'kill nine password'
const secrets = new Set<string>([PASSWORD])

/**
 * What create sends to a Synapse that offers password logins, in order; the first two go out
 * together (how the server logs in, and what it says it runs), so either may come first.
 */
const ASKS = ['GET /_matrix/client/v3/login', 'GET /_matrix/federation/v1/version']
const CREATE_REQUESTS = [...ASKS, 'POST /_matrix/client/v3/login', 'POST /_matrix/client/v3/logout', 'POST /_matrix/client/v3/login']
/** The requests in an order that the two questions asked together cannot change. */
const settled = (requests: string[]) => requests.map((r) => (ASKS.includes(r) ? 'GET (a question)' : r))

let relay: KillRelay
let userId: string
let configDir: string
const {env, mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)

beforeAll(async () => {
  keyring = await startKeyring({restartOnCrash: true})
  Object.assign(keyringEnv, keyring.env)
  userId = await registerUser(synapse, `kill${process.pid}`, PASSWORD)
  relay = await startKillRelay(synapse.baseUrl)
})
afterAll(async () => {
  await relay?.stop()
  await keyring?.stop()
})

const createArgs = (name: string) => ['create', name, '--user', userId, '--homeserver', relay.url, '--password-stdin']
const tokensOf = (name: string) => deviceTokens(synapse.dir, userId, deriveDeviceId(userId, name))

async function created(name: string): Promise<string> {
  const r = await mxtok(createArgs(name), {}, `${PASSWORD}\n`)
  expect(r.code, r.stderr).toBe(0)
  return storedToken(name) as Promise<string>
}

async function storedToken(name: string): Promise<string | null> {
  const r = await mxtok(['token', name])
  if (r.code !== 0) return null
  const token = r.stdout.trim()
  secrets.add(token)
  return token
}

/** Runs create and SIGKILLs it from the relay as soon as the answer to its k-th request is on its way. */
async function createKilledAfter(name: string, k: number, args = createArgs(name), requests = CREATE_REQUESTS, user = userId): Promise<void> {
  const child = spawn(process.execPath, [BIN, ...args], {env: env() as NodeJS.ProcessEnv, stdio: ['pipe', 'ignore', 'ignore']})
  relay.arm(k, child.pid!)
  child.stdin.end(`${PASSWORD}\n`)
  const signal = await new Promise((resolve) => child.on('close', (_, s) => resolve(s)))
  relay.disarm()
  expect(signal, `create was not killed after request ${k}`).toBe('SIGKILL')
  expect(settled(relay.seen)).toEqual(settled(requests.slice(0, k)))
  // Whatever the server holds now is a secret nobody should ever print.
  for (const d of userDevices(synapse.dir, user)) for (const t of deviceTokens(synapse.dir, user, d)) secrets.add(t)
}

/** The command doctor says to run for session `name`, if it reports one. */
async function doctorAdvice(name: string): Promise<string[] | undefined> {
  const r = await mxtok(['doctor'])
  expect(r.code, r.stderr).toBe(0)
  const line = r.stdout.split('\n').find((l) => l.startsWith('WARN') && l.includes(`"${name}"`))
  if (line === undefined) return undefined
  const command = /run "mxtok (create [^"]+)"/.exec(line)?.[1]
  expect(command, `doctor names no command: ${line}`).toBeDefined()
  return command!.split(' ')
}

/**
 * After the advice is followed, exactly one token on the device, the stored one; with no advice,
 * the device holds the stored token alone or, with no session, nothing.
 */
async function expectAdviceLeavesOnlyTheStoredToken(name: string): Promise<void> {
  const advice = await doctorAdvice(name)
  if (advice) {
    expect(advice).toEqual(createArgs(name).slice(0, -1))
    const r = await mxtok([...advice, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
  }
  const stored = await storedToken(name)
  if (advice) expect(stored).not.toBeNull()
  expect(tokensOf(name)).toEqual(stored === null ? [] : [stored])
  expect(await doctorAdvice(name)).toBeUndefined()
}

beforeAll(() => {
  configDir = tempDir('mxtok-kill9-')
})

describe('create killed with SIGKILL right after each of its requests', () => {
  it('sends the requests the test expects (so that each kill lands where it says)', async () => {
    configDir = tempDir('mxtok-kill9-')
    const child = spawn(process.execPath, [BIN, ...createArgs('plain')], {env: env() as NodeJS.ProcessEnv, stdio: ['pipe', 'ignore', 'ignore']})
    relay.arm(1000, child.pid!)
    child.stdin.end(`${PASSWORD}\n`)
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0)
    expect(settled(relay.seen)).toEqual(settled(CREATE_REQUESTS))
    expect([...relay.seen].sort()).toEqual([...CREATE_REQUESTS].sort())
    relay.disarm()
    expect(tokensOf('plain')).toEqual([await storedToken('plain')])
  })

  // How the server is left by each kill of a re-create, before anything is done about it.
  const afterRecreateKill = [
    (t: string[], old: string) => expect(t).toEqual([old]),
    (t: string[], old: string) => expect(t).toEqual([old]),
    (t: string[], old: string) => expect(t.length === 2 && t.includes(old)).toBe(true),
    (t: string[]) => expect(t).toEqual([]),
    (t: string[], old: string) => expect(t.length === 1 && t[0] !== old).toBe(true),
  ]

  for (let k = 1; k <= CREATE_REQUESTS.length; k++) {
    describe(`after request ${k} (${CREATE_REQUESTS[k - 1]})`, () => {
      it('of a re-create: doctor names the session and the command, and running it leaves only the stored token', async () => {
        configDir = tempDir('mxtok-kill9-')
        const name = `re${k}`
        const old = await created(name)
        await createKilledAfter(name, k)
        afterRecreateKill[k - 1](tokensOf(name), old)
        if (k > ASKS.length) expect(await doctorAdvice(name)).toBeDefined()
        await expectAdviceLeavesOnlyTheStoredToken(name)
      })

      it('of a re-create: revoke reports success only when the device is left without a token', async () => {
        configDir = tempDir('mxtok-kill9-')
        const name = `rv${k}`
        await created(name)
        await createKilledAfter(name, k)
        const before = tokensOf(name)
        const r = await mxtok(['revoke', name])
        if (r.code === 0) {
          expect(r.stdout).toMatch(/logged out and forgotten/)
          expect(tokensOf(name)).toEqual([])
          expect(await doctorAdvice(name)).toBeUndefined()
        } else {
          expectOneLineError(r)
          expect(r.stderr).toContain(`"mxtok ${createArgs(name).slice(0, -1).join(' ')}"`)
          expect(tokensOf(name).sort()).toEqual(before.sort())
          expect((await mxtok(['list', '--offline'])).stdout).toContain(name)
        }
        // The stored token of a session killed before its device was reset still works, and logs the device out.
        expect(r.code).toBe(k <= ASKS.length + 1 ? 0 : 4)
      })

      it('of a first create: doctor names the session and the command, and running it leaves only the stored token', async () => {
        configDir = tempDir('mxtok-kill9-')
        const name = `new${k}`
        await createKilledAfter(name, k)
        expect(tokensOf(name)).toHaveLength(k === 3 || k === 5 ? 1 : 0)
        if (k > ASKS.length) expect(await doctorAdvice(name)).toBeDefined()
        await expectAdviceLeavesOnlyTheStoredToken(name)
      })
    })
  }
})

describe('a create killed while its device is journalled, on this host', () => {
  it('leaves a lease that has not run out, which the next create takes over at once since its process is gone', async () => {
    configDir = tempDir('mxtok-kill9-')
    const name = 'leased'
    const started = Date.now()
    await createKilledAfter(name, ASKS.length + 1)
    const [entry] = Object.values(JSON.parse(readFileSync(join(configDir, 'sessions.json'), 'utf8')).pending) as {by: string; pid: number; until: string}[]
    expect(entry.by).toBe(`${userInfo().username}@${hostname()}`)
    // Held for minutes yet (three requests at MXTOK_TIMEOUT after the rate-limit budget, and more): only the gone process frees it.
    expect(Date.parse(entry.until) - started).toBeGreaterThan(10 * 60_000)
    expect(() => process.kill(entry.pid, 0)).toThrow(expect.objectContaining({code: 'ESRCH'}))
    const doctor = await mxtok(['doctor'])
    expect(doctor.stdout).toMatch(new RegExp(`WARN create of session "${name}" was interrupted`))
    expect(doctor.stdout).not.toContain('in progress')
    const r = await mxtok(createArgs(name), {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
    expect(tokensOf(name)).toEqual([await storedToken(name)])
    expect(JSON.parse(readFileSync(join(configDir, 'sessions.json'), 'utf8')).pending).toBeUndefined()
  })
})

/**
 * Given a localpart, create learns the full user ID (and so the device ID) from a login on a probe
 * device; the test Synapse is named "localhost" but reached at 127.0.0.1, so no guess could work.
 */
describe('create given a localpart, killed with SIGKILL right after each of its requests', () => {
  const REQUESTS = [...CREATE_REQUESTS.slice(0, 4), ...CREATE_REQUESTS.slice(2)]
  let n = 0
  // Registration leaves a device of its own (Synapse logs the new account in): not ours to count.
  const freshUser = async () => {
    const localpart = `lp${process.pid}x${n++}`
    const full = await registerUser(synapse, localpart, PASSWORD)
    return {localpart, full, registered: userDevices(synapse.dir, full)}
  }
  const devicesOf = (user: {full: string; registered: string[]}) => userDevices(synapse.dir, user.full).filter((d) => !user.registered.includes(d))
  const localArgs = (name: string, localpart: string) => ['create', name, '--user', localpart, '--homeserver', relay.url, '--password-stdin']

  /** Following doctor's advice, if any, leaves the user one device, the session's, holding the stored token alone. */
  async function expectOneDeviceWithTheStoredToken(name: string, user: {localpart: string; full: string; registered: string[]}, sessionWanted: boolean) {
    const advice = await doctorAdvice(name)
    if (advice) {
      expect([localArgs(name, user.localpart).slice(0, -1), localArgs(name, user.full).slice(0, -1)]).toContainEqual(advice)
      const r = await mxtok([...advice, '--password-stdin'], {}, `${PASSWORD}\n`)
      expect(r.code, r.stderr).toBe(0)
    }
    const stored = await storedToken(name)
    if (advice || sessionWanted) expect(stored).not.toBeNull()
    const device = deriveDeviceId(user.full, name)
    expect(devicesOf(user)).toEqual(stored === null ? [] : [device])
    if (stored !== null) expect(deviceTokens(synapse.dir, user.full, device)).toEqual([stored])
    expect(await doctorAdvice(name)).toBeUndefined()
  }

  it('creates the session of the full ID the server answers, with one device and one token', async () => {
    configDir = tempDir('mxtok-kill9-')
    const user = await freshUser()
    const r = await mxtok([...localArgs('lp', user.localpart), '--json'], {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({userId: user.full, deviceId: deriveDeviceId(user.full, 'lp')})
    expect(user.full).toMatch(/:localhost$/)
    await expectOneDeviceWithTheStoredToken('lp', user, true)
  })

  it('costs nothing with a mistyped password: exit 3, no device, nothing pending', async () => {
    configDir = tempDir('mxtok-kill9-')
    const user = await freshUser()
    const r = await mxtok(localArgs('typo', user.localpart), {}, 'not the password\n')
    expect(r.code).toBe(3)
    expectOneLineError(r)
    expect(r.stderr).toContain(`refused the login for ${user.localpart}: wrong user or password`)
    expect(devicesOf(user)).toEqual([])
    expect((await mxtok(['doctor', '--json'])).stdout).toContain('"orphans": []')
  })

  for (let k = 1; k <= REQUESTS.length; k++) {
    it(`after request ${k} (${REQUESTS[k - 1]}) of a first create: doctor's advice leaves one device with the stored token`, async () => {
      configDir = tempDir('mxtok-kill9-')
      const user = await freshUser()
      await createKilledAfter('lp', k, localArgs('lp', user.localpart), REQUESTS, user.full)
      if (k > ASKS.length) expect(await doctorAdvice('lp')).toBeDefined()
      await expectOneDeviceWithTheStoredToken('lp', user, false)
    })

    it(`after request ${k} (${REQUESTS[k - 1]}) of a re-create: doctor's advice leaves one device with the stored token`, async () => {
      configDir = tempDir('mxtok-kill9-')
      const user = await freshUser()
      const first = await mxtok(localArgs('lp', user.localpart), {}, `${PASSWORD}\n`)
      expect(first.code, first.stderr).toBe(0)
      await createKilledAfter('lp', k, localArgs('lp', user.localpart), REQUESTS, user.full)
      await expectOneDeviceWithTheStoredToken('lp', user, true)
    })
  }
})

describe('the output of these runs', () => {
  it('never shows a token or the password', async () => {
    const r = await mxtok(['doctor'])
    expectNoSecrets(r, secrets)
  })
})
