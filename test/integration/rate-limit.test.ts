// Re-creating sessions on servers that limit logins: one with matrix-docker-ansible-deploy's limits
// (Synapse's defaults, its matrix_synapse_rc_login: per address and per account a burst of 3, then
// one login every 6 s), and one whose limit outlasts what mxtok waits. Each outcome is checked in
// Synapse's own database: the device holds the stored token alone, or, when mxtok says the session
// has no live token, nothing at all.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {expectNoSecrets, expectOneLineError, mxtokRunner, runCli, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {PLAYBOOK_LOGIN_LIMIT, registerUser, type SynapseServer, startSynapse} from '../support/synapse.js'
import {deviceTokens} from '../support/synapse-db.js'

const keyringEnv = await service('keyringEnv')
const PASSWORD = 'rate-limit-password-do-not-leak'
const RELAXED = {per_second: 1000, burst_count: 1000}

describe('on a server with the playbook login limits', () => {
  const secrets = new Set<string>([PASSWORD])
  let server: SynapseServer
  let user: string
  let configDir: string
  const {env, token} = mxtokRunner(keyringEnv, () => configDir, secrets)
  // Given longer than a test run's usual 30 s: a create may wait up to 180 s on rate limits.
  const create = async (name: string) => {
    const r = await runCli(['create', name, '--user', user, '--homeserver', server.baseUrl, '--password-stdin'], {
      env: env(),
      input: `${PASSWORD}\n`,
      timeoutMs: 200_000,
    })
    expectNoSecrets(r, secrets)
    return r
  }

  beforeAll(async () => {
    server = await startSynapse({loginLimits: {address: PLAYBOOK_LOGIN_LIMIT, account: PLAYBOOK_LOGIN_LIMIT}})
    user = await registerUser(server, 'limited', PASSWORD)
    configDir = tempDir('mxtok-rate-limit-')
  })
  afterAll(() => server?.stop())

  it('three sessions of one account re-created at once all finish, waiting as the server asks, each device left with its stored token alone', async () => {
    const names = ['one', 'two', 'three']
    for (const name of names) {
      const r = await create(name)
      expect(r.code, r.stderr).toBe(0)
    }
    const started = performance.now()
    const results = await Promise.all(names.map(create))
    const took = performance.now() - started
    for (const r of results) expect(r.code, r.stdout + r.stderr).toBe(0)
    // Six logins past the burst, one every 6 s: the limit was there, and waited out.
    expect(took).toBeGreaterThan(15_000)
    for (const name of names) expect(deviceTokens(server.dir, user, deriveDeviceId(user, name))).toEqual([await token(name)])
  }, 240_000)
})

describe('on a server whose login limit outlasts what mxtok waits', () => {
  const secrets = new Set<string>([PASSWORD])
  let server: SynapseServer
  let user: string
  let configDir: string
  const {mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)
  const createArgs = ['create', 'solo', '--user', '', '--homeserver', '', '--password-stdin']

  beforeAll(async () => {
    // Per account a burst of 3, then one login every 500 s: a create and the re-create's first login pass.
    server = await startSynapse({loginLimits: {address: RELAXED, account: {per_second: 0.002, burst_count: 3}}})
    user = await registerUser(server, 'solo', PASSWORD)
    createArgs[3] = user
    createArgs[5] = server.baseUrl
    configDir = tempDir('mxtok-rate-limit-')
  })
  afterAll(() => server?.stop())

  it('a re-create whose last login is refused after the reset is exit 10, says the session has no live token and what to run, and doctor names it', async () => {
    const c = await mxtok(createArgs, {}, `${PASSWORD}\n`)
    expect(c.code, c.stderr).toBe(0)
    const device = deriveDeviceId(user, 'solo')

    const r = await mxtok(createArgs, {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(10)
    expectOneLineError(r)
    expect(r.stderr).toContain(`is rate-limiting requests and asks to wait`)
    expect(r.stderr).toContain(`Session "solo" has no live token now: device ${device} was reset`)
    expect(r.stderr).toContain(`run "mxtok create solo --user ${user} --homeserver ${server.baseUrl}" to finish`)
    // What the server holds: nothing on the device. What mxtok holds: no token to print.
    expect(deviceTokens(server.dir, user, device)).toEqual([])
    const t = await mxtok(['token', 'solo'])
    expect(t.code).toBe(4)
    expect(t.stdout).toBe('')
    const d = await mxtok(['doctor', '--json'])
    const orphans = (JSON.parse(d.stdout) as {orphans: {name?: string; deviceId: string; advice?: string}[]}).orphans
    expect(orphans).toEqual([
      expect.objectContaining({name: 'solo', deviceId: device, advice: `mxtok create solo --user ${user} --homeserver ${server.baseUrl}`}),
    ])
  })
})
