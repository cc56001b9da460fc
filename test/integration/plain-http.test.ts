// Plain http:// only to loopback, checked on every request: a registry entry rewritten to an http://
// URL elsewhere must get nothing, whatever command reads it.
import {readFileSync, writeFileSync} from 'node:fs'
import {networkInterfaces} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {type CountingProxy, startCountingProxy, tcpTarget} from '../support/counting-proxy.js'
import {service} from '../support/services.js'
import {rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'plain-http-password-do-not-leak'
const secrets = new Set([PASSWORD])

let configDir: string
let userId: string
/** A relay to Synapse on an address of this machine that is not loopback: what reaches it would cross a network. */
let relay: CountingProxy
const {mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)

// 0.0.0.0 reaches this machine too, and is not loopback by name: the fallback for a host without a network.
const nonLoopback =
  Object.values(networkInterfaces())
    .flat()
    .find((a) => a?.family === 'IPv4' && !a.internal)?.address ?? '0.0.0.0'

function rewriteHomeserver(name: string, homeserver: string): void {
  const file = join(configDir, 'sessions.json')
  const registry = JSON.parse(readFileSync(file, 'utf8'))
  registry.sessions[name].homeserver = homeserver
  writeFileSync(file, JSON.stringify(registry, null, 2))
}

beforeAll(async () => {
  userId = await registerUser(synapse, `plainhttp${process.pid}`, PASSWORD)
  relay = await startCountingProxy(tcpTarget(synapse.baseUrl), {host: nonLoopback})
  configDir = tempDir('mxtok-plain-http-')
  const created = await mxtok(['create', 'bot', '--user', userId, '--homeserver', synapse.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
  expect(created.code, created.stderr).toBe(0)
  const t = (await mxtok(['token', 'bot'])).stdout.trim()
  secrets.add(t)
  rewriteHomeserver('bot', relay.address)
})
afterAll(() => relay.stop())
beforeEach(() => relay.reset())

describe('a session whose registry entry was rewritten to http:// on another host', () => {
  it.each([
    ['revoke', ['revoke', 'bot']],
    ['rename', ['rename', 'bot', '--device-name', 'renamed']],
    ['prune', ['prune', '--user', '@plainhttp:localhost', '--orphans', '--dry-run', '--password-stdin']],
  ])('%s sends nothing there and says why in one line (exit 2)', async (_, args) => {
    const r = await mxtok(
      args.map((a) => (a === '@plainhttp:localhost' ? userId : a)),
      {},
      `${PASSWORD}\n`,
    )
    expect(relay.opened).toBe(0)
    expect(r.code).toBe(2)
    expectOneLineError(r)
    expect(r.stderr).toContain(`refusing plain http:// to ${new URL(relay.address).host}, which is not on this machine`)
    expect(r.stderr).toContain('MXTOK_ALLOW_HTTP=1')
  })

  it('verify sends nothing there and reports the session as an error (exit 2)', async () => {
    const r = await mxtok(['verify', 'bot', '--json'])
    expect(relay.opened).toBe(0)
    expect(r.code).toBe(2)
    expect(JSON.parse(r.stdout)).toEqual([
      {
        name: 'bot',
        userId,
        deviceId: expect.any(String),
        status: 'error',
        error: expect.stringMatching(/^refusing plain http:\/\/ to \S+, which is not on this machine/),
      },
    ])
  })

  it('list sends nothing there either, and says why', async () => {
    const r = await mxtok(['list'])
    expect(relay.opened).toBe(0)
    expect(r.stderr).toContain('refusing plain http://')
  })

  it('is kept by a refused revoke, and reached when the user allows plain http for the run (MXTOK_ALLOW_HTTP=1)', async () => {
    expect((await mxtok(['list', '--offline', '--json'])).stdout).toContain('"bot"')
    const r = await mxtok(['verify', 'bot', '--json'], {MXTOK_ALLOW_HTTP: '1'})
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)[0].status).toBe('valid')
    expect(relay.opened).toBeGreaterThan(0)
  })
})

describe('--allow-http', () => {
  it('lets create and prune reach a plain http:// homeserver on another host for that run', async () => {
    const dir = tempDir('mxtok-plain-http-')
    const env = {MXTOK_CONFIG_DIR: dir, HOME: dir}
    const refused = await mxtok(['create', 'lan', '--user', userId, '--homeserver', relay.address, '--password-stdin'], env, `${PASSWORD}\n`)
    expect(refused.code).toBe(2)
    expect(relay.opened).toBe(0)

    const created = await mxtok(
      ['create', 'lan', '--user', userId, '--homeserver', relay.address, '--password-stdin', '--allow-http', '--json'],
      env,
      `${PASSWORD}\n`,
    )
    expect(created.code, created.stderr).toBe(0)
    expect(relay.opened).toBeGreaterThan(0)
    const t = (await mxtok(['token', 'lan'], env)).stdout.trim()
    secrets.add(t)
    expect((await rawWhoami(synapse.baseUrl, t)).status).toBe(200)

    relay.reset()
    const pruned = await mxtok(['prune', '--user', userId, '--orphans', '--dry-run', '--allow-http', '--json'], env)
    expect(pruned.code, pruned.stderr).toBe(0)
    expect(JSON.parse(pruned.stdout).homeserver).toBe(relay.address)
    expect(relay.opened).toBeGreaterThan(0)
  })
})
