import {execFileSync, spawn} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {hostname, userInfo} from 'node:os'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {BIN, type CliResult, expectOneLineError, runCli, tempDir} from '../support/cli.js'
import {startGateRelay} from '../support/gate-relay.js'
import {service} from '../support/services.js'
import {registerUser} from '../support/synapse.js'
import {deviceTokens} from '../support/synapse-db.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'concurrency password'

let userId: string

const env = (dir: string) => ({...keyringEnv, HOME: dir, MXTOK_CONFIG_DIR: dir, MXTOK_PASSWORD: PASSWORD})
const mxtok = (dir: string, args: string[]) => runCli(args, {env: env(dir), timeoutMs: 60_000})
const create = (dir: string, name: string) => mxtok(dir, ['create', name, '--user', userId, '--homeserver', synapse.baseUrl])
const registry = (dir: string) => JSON.parse(readFileSync(join(dir, 'sessions.json'), 'utf8'))

/** The keychain items of this test's user, seen from outside mxtok. */
function keychainAccounts(): string[] {
  let out = ''
  try {
    out = execFileSync('secret-tool', ['search', '--all', '--unlock', 'service', 'mxtok'], {
      env: {...process.env, ...keyringEnv},
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
  } catch {
    return []
  }
  return [...out.matchAll(/^attribute\.username = (.*)$/gm)].map((m) => m[1]).filter((a) => a.startsWith(`${userId}/`))
}

beforeAll(async () => {
  userId = await registerUser(synapse, `conc${process.pid}`, PASSWORD)
})

describe('several mxtok processes at once', () => {
  it('keep every session: 8 creates in parallel, then 4 revokes beside 4 more creates', async () => {
    const dir = tempDir('mxtok-conc-')
    const names = Array.from({length: 8}, (_, i) => `par${i}`)
    const created = await Promise.all(names.map((n) => create(dir, n)))
    expect(created.map((r) => r.code)).toEqual(names.map(() => 0))
    expect(Object.keys(registry(dir).sessions).sort()).toEqual(names)

    const more = Array.from({length: 4}, (_, i) => `more${i}`)
    const mixed = await Promise.all([...names.slice(0, 4).map((n) => mxtok(dir, ['revoke', n])), ...more.map((n) => create(dir, n))])
    expect(mixed.map((r) => r.code)).toEqual([0, 0, 0, 0, 0, 0, 0, 0])
    expect(Object.keys(registry(dir).sessions).sort()).toEqual([...more, ...names.slice(4)].sort())

    const verify = await mxtok(dir, ['verify', '--json'])
    expect(verify.code, verify.stderr).toBe(0)
    expect(JSON.parse(verify.stdout)).toHaveLength(8)
    for (const n of [...more, ...names.slice(4)]) expect((await mxtok(dir, ['revoke', n])).code).toBe(0)
    expect(registry(dir).sessions).toEqual({})
  })
})

describe('several creates of the same session at once, in one config directory', () => {
  it('one logs in; the others stop before any login, with exit 7 and one line; the device holds the one token stored', async () => {
    const dir = tempDir('mxtok-lease-')
    const deviceId = deriveDeviceId(userId, 'leased')
    // Each run journals the device before its first login; that login waits here until the other
    // runs have ended, so that all four overlap however fast or slow the machine is.
    const gate = await startGateRelay(synapse.baseUrl, (method, path) => method === 'POST' && path.endsWith('/login'))
    try {
      const ended: CliResult[] = []
      const runs = [0, 1, 2, 3].map(() =>
        mxtok(dir, ['create', 'leased', '--user', userId, '--homeserver', gate.url]).then((r) => {
          ended.push(r)
          return r
        }),
      )
      await until(() => ended.length === 3, 50_000)
      expect(gate.waiting).toBe(1)
      gate.open()
      const results = await Promise.all(runs)
      expect(results.map((r) => r.code).sort()).toEqual([0, 7, 7, 7])
      for (const r of results.filter((r) => r.code === 7)) {
        expectOneLineError(r)
        expect(r.stderr).toMatch(
          new RegExp(
            `^mxtok: session "leased" \\(device ${deviceId} of .*\\) is being logged in to by another run \\(${userInfo().username}@${hostname()} pid \\d+, `,
          ),
        )
      }
      expect(gate.seen.filter((s) => s.startsWith('POST') && s.endsWith('/login'))).toHaveLength(2)
      const token = await mxtok(dir, ['token', 'leased'])
      expect(token.code, token.stderr).toBe(0)
      expect(deviceTokens(synapse.dir, userId, deviceId)).toEqual([token.stdout.trim()])
      expect(registry(dir).pending).toBeUndefined()
      expect((await mxtok(dir, ['revoke', 'leased'])).code).toBe(0)
      expect(deviceTokens(synapse.dir, userId, deviceId)).toEqual([])
    } finally {
      gate.open()
      await gate.stop()
    }
  })
})

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('kill -9 at any moment', () => {
  it('leaves a whole registry, and every token either in a session or reported by doctor', async () => {
    const dir = tempDir('mxtok-kill-')
    const before = new Set(keychainAccounts())
    for (let i = 0; i < 12; i++) {
      const child = spawn(process.execPath, [BIN, 'create', `k${i % 4}`, '--user', userId, '--homeserver', synapse.baseUrl], {
        env: {PATH: process.env.PATH!, ...env(dir)},
        stdio: 'ignore',
      })
      const closed = new Promise((resolve) => child.on('close', resolve))
      // Spread the kills over start-up, the logins, the keychain write and the registry write.
      await new Promise((resolve) => setTimeout(resolve, 150 + ((i * 97) % 700)))
      child.kill('SIGKILL')
      await closed
      const list = await mxtok(dir, ['list', '--offline', '--json'])
      expect(list.code, list.stderr).toBe(0)
      if (existsSync(join(dir, 'sessions.json'))) expect(() => registry(dir)).not.toThrow()
    }
    const owned = new Set(Object.values(registry(dir).sessions).map((s) => `${(s as {userId: string}).userId}/${(s as {deviceId: string}).deviceId}`))
    const doctor = await mxtok(dir, ['doctor', '--json'])
    const orphans = JSON.parse(doctor.stdout).orphans as {kind: string; userId: string; deviceId: string}[]
    const reported = new Set(orphans.filter((o) => o.kind === 'token').map((o) => `${o.userId}/${o.deviceId}`))
    for (const account of keychainAccounts().filter((a) => !before.has(a))) {
      expect(owned.has(account) || reported.has(account), `${account} is in the keychain, but neither a session nor reported`).toBe(true)
    }

    // A token in the keychain can be logged out; an interrupted login needs the password: create again.
    const fixed = await mxtok(dir, ['doctor', '--fix', '--json'])
    for (const o of JSON.parse(fixed.stdout).orphans as {kind: string; fixed: boolean; advice?: string}[]) {
      if (o.kind === 'token') expect(o.fixed).toBe(true)
      else expect(o.advice).toMatch(/^mxtok create /)
    }
    expect(keychainAccounts().filter((a) => !before.has(a) && !owned.has(a))).toEqual([])
  })
})
