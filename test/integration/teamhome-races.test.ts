// Races in the team home: several mxtok processes of two operators at once on the same session,
// with no lock but OpenBao's check-and-set. The outcome is checked where it matters: the secret's
// versions in OpenBao, and the tokens Synapse's own database holds for the session's device.
import {execFileSync} from 'node:child_process'
import {hostname, userInfo} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {Deps} from '../../src/core/deps.js'
import {journalledLogin} from '../../src/core/journalled-login.js'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import type {UpdateScope} from '../../src/registry/registry.js'
import type {PendingLogin, Session} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {pendingKey} from '../../src/teamhome/layout.js'
import {TeamStore} from '../../src/teamhome/team-store.js'
import {VaultRegistry} from '../../src/teamhome/vault-registry.js'
import {connectVault} from '../../src/vault/client.js'
import {parseVaultLocation} from '../../src/vault/location.js'
import {type CliResult, type Env, expectOneLineError, runCli, tempDir} from '../support/cli.js'
import {startGateRelay} from '../support/gate-relay.js'
import {baoAdmin, baoApi, type OpenbaoDevServer, startOpenbaoDev} from '../support/openbao.js'
import {service} from '../support/services.js'
import {registerUser, type SynapseServer, startSynapse, synapseVenvDir} from '../support/synapse.js'
import {deviceTokens} from '../support/synapse-db.js'

const synapse = await service('synapse')
const PASSWORD = 'team home race password'
const LIFETIME_MS = 3000

let bao: OpenbaoDevServer
let expiring: SynapseServer
const secrets = new Set([PASSWORD])
const dirs = {a: '', b: ''}

beforeAll(async () => {
  ;[bao, expiring] = await Promise.all([startOpenbaoDev(), startSynapse({tokenLifetime: `${LIFETIME_MS / 1000}s`})])
  secrets.add(bao.rootToken)
  dirs.a = tempDir('mxtok-race-a-')
  dirs.b = tempDir('mxtok-race-b-')
})

afterAll(async () => {
  await Promise.all([bao?.stop(), expiring?.stop()])
})

async function mxtok(op: 'a' | 'b', args: string[], extra: Env = {}): Promise<CliResult> {
  const env = {
    HOME: dirs[op],
    MXTOK_CONFIG_DIR: dirs[op],
    MXTOK_PASSWORD: PASSWORD,
    BAO_ADDR: bao.address,
    BAO_TOKEN: bao.rootToken,
    MXTOK_VAULT: 'secret/race',
    ...extra,
  }
  const r = await runCli(args, {env, timeoutMs: 90_000})
  for (const s of secrets) {
    if (args[0] !== 'token') expect(r.stdout).not.toContain(s)
    expect(r.stderr).not.toContain(s)
  }
  return r
}

const secretOf = async (name: string) => {
  const r = await baoApi(bao.address, bao.rootToken, 'GET', `secret/data/race/sessions/${name}`)
  return (r.body?.data as {data: Record<string, string>; metadata: {version: number}} | undefined) ?? undefined
}

/** The refresh tokens of a device that have not been exchanged yet: the heads of its chains of refreshes. */
function unexchangedRefreshTokens(dir: string, userId: string, deviceId: string): string[] {
  const query = `
import sqlite3, sys, json
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
rows = db.execute('SELECT token FROM refresh_tokens WHERE user_id = ? AND device_id = ? AND next_token_id IS NULL', (sys.argv[2], sys.argv[3])).fetchall()
print(json.dumps([r[0] for r in rows]))
`
  return JSON.parse(execFileSync(join(synapseVenvDir(), 'bin', 'python'), ['-c', query, join(dir, 'homeserver.db'), userId, deviceId], {encoding: 'utf8'}))
}

/** A failed run ends with one error line; warnings of what it left may come before it. */
function expectErrorLine(r: CliResult): void {
  const lines = r.stderr.trim().split('\n')
  for (const line of lines) expect(line).toMatch(/^mxtok: /)
  expect(lines.at(-1)).not.toMatch(/^mxtok: warning:/)
  expect(r.stderr).not.toMatch(/\bat .*\.[cm]?js:\d+/)
}

describe('several processes of two operators at once on one session', () => {
  it('refreshing an expired token: one refreshes, the others wait and use its token; no refresh token is lost', async () => {
    const userId = await registerUser(expiring, `racerefresh${process.pid}`, PASSWORD)
    const deviceId = deriveDeviceId(userId, 'bot')
    const c = await mxtok('a', ['create', 'bot', '--user', userId, '--homeserver', expiring.baseUrl])
    expect(c.code, c.stderr).toBe(0)
    const first = (await secretOf('bot'))!
    expect(first.data.mxtok_refresh_token).toBeTruthy()
    secrets.add(first.data.access_token).add(first.data.mxtok_refresh_token)

    for (let round = 0; round < 2; round++) {
      await new Promise((r) => setTimeout(r, LIFETIME_MS + 500))
      const runs = await Promise.all(['a', 'b', 'a', 'b', 'a', 'b'].map((op) => mxtok(op as 'a' | 'b', ['token', 'bot'])))
      for (const r of runs) expect(r.code, r.stderr).toBe(0)
      const stored = (await secretOf('bot'))!
      secrets.add(stored.data.access_token).add(stored.data.mxtok_refresh_token)
      // A token of 3 s is always within the margin of a refresh, so a run that read it fresh refreshes
      // it again: each printed a token of the chain, one after another. Synapse keeps the last two
      // pairs only (exchanging a refresh token deletes the pair before it), so a token printed early in
      // the round may be gone already: what is checked is that each is a token, and (below) that the
      // chain has one head, the stored one.
      for (const r of runs) expect(r.stdout.trim()).toMatch(/^syt_[A-Za-z0-9_]+$/)
      // Synapse keeps a refreshed token until it expires; one chain of refresh tokens, whose last is stored.
      expect(deviceTokens(expiring.dir, userId, deviceId)).toContain(stored.data.access_token)
      // One chain, whose head is the refresh token stored: none was spent twice, none is lost.
      expect(unexchangedRefreshTokens(expiring.dir, userId, deviceId)).toEqual([stored.data.mxtok_refresh_token])
      // No claim is left behind, and the one refresh claimed the session before it wrote.
      expect(stored.data.mxtok_claim).toBeUndefined()
    }
    const v = await mxtok('b', ['verify', 'bot'])
    expect(v.code, v.stderr).toBe(0)
    expect((await mxtok('a', ['revoke', 'bot'])).code).toBe(0)
    expect(deviceTokens(expiring.dir, userId, deviceId)).toEqual([])
  })

  it('creating and revoking: every run ends in a whole session or none, and the device holds the stored token or nothing', async () => {
    const userId = await registerUser(synapse, `racecreate${process.pid}`, PASSWORD)
    const deviceId = deriveDeviceId(userId, 'contended')
    const create = (op: 'a' | 'b') => mxtok(op, ['create', 'contended', '--user', userId, '--homeserver', synapse.baseUrl])
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all([create('a'), create('b'), mxtok('a', ['revoke', 'contended']), create('b'), mxtok('b', ['revoke', 'contended'])])
      for (const r of runs) if (r.code !== 0) expectErrorLine(r)
      for (const t of deviceTokens(synapse.dir, userId, deviceId)) secrets.add(t)
      const stored = await secretOf('contended')
      const token = stored?.data.access_token
      // No token nobody has: the device holds the stored one or none, or doctor reports the device.
      const doctor = await mxtok('a', ['doctor'])
      const reported = doctor.stdout.includes('"contended" was interrupted')
      const unheld = deviceTokens(synapse.dir, userId, deviceId).filter((t) => t !== token)
      expect(reported || unheld.length === 0, `tokens nobody has: ${unheld.length}; doctor: ${doctor.stdout}`).toBe(true)
      // What doctor says to do leaves the device with the stored token alone.
      if (reported) {
        expect((await create('b')).code).toBe(0)
        const again = (await secretOf('contended'))!.data.access_token
        secrets.add(again)
        expect(deviceTokens(synapse.dir, userId, deviceId)).toEqual([again])
      }
    }
    expect((await mxtok('a', ['revoke', 'contended'])).code).toBeLessThanOrEqual(2)
  })

  it('four creates of the same session at once: one logs in, the others stop before any login with exit 7 and one line', async () => {
    const userId = await registerUser(synapse, `racelease${process.pid}`, PASSWORD)
    const deviceId = deriveDeviceId(userId, 'leased')
    // Each run journals the device before its first login; that login waits here until the other runs
    // have ended, so that all four overlap however fast or slow the machine is.
    const gate = await startGateRelay(synapse.baseUrl, (method, path) => method === 'POST' && path.endsWith('/login'))
    try {
      const ended: CliResult[] = []
      const runs = (['a', 'b', 'a', 'b'] as const).map((op) =>
        mxtok(op, ['create', 'leased', '--user', userId, '--homeserver', gate.url]).then((r) => {
          ended.push(r)
          return r
        }),
      )
      await until(() => ended.length === 3, 60_000)
      expect(gate.waiting).toBe(1)
      // Meanwhile either operator's doctor shows the login in progress, not interrupted, and --fix leaves it.
      for (const op of ['a', 'b'] as const) {
        const d = await mxtok(op, ['doctor', '--fix'])
        expect(d.stdout).toMatch(
          new RegExp(
            `^info create of session "leased" of ${escapeRegExp(userId)} device ${deviceId} in progress \\(\\S+ pid \\d+, since \\S+, until \\S+\\)$`,
            'm',
          ),
        )
        expect(d.stdout).not.toContain('"leased" was interrupted')
      }
      const listed = (await baoApi(bao.address, bao.rootToken, 'LIST', 'secret/metadata/race/pending')).body?.data as {keys?: string[]} | undefined
      expect(listed?.keys).toContain(pendingKey(secretAccount(userId, deviceId)))
      gate.open()
      const results = await Promise.all(runs)
      expect(results.map((r) => r.code).sort()).toEqual([0, 7, 7, 7])
      const line = new RegExp(
        `^mxtok: session "leased" \\(device ${deviceId} of ${escapeRegExp(userId)}\\) is being logged in to by another run \\(\\S+@\\S+ pid \\d+, since \\S+, until (\\S+)\\); wait for it, or run this again after \\1 or once "mxtok doctor" shows it interrupted\n$`,
      )
      for (const r of results.filter((r) => r.code === 7)) {
        expectOneLineError(r)
        expect(r.stderr).toMatch(line)
      }
      // One login was made (login, logout, login): the device holds one token, the one stored.
      expect(gate.seen.filter((s) => s.startsWith('POST') && s.endsWith('/login'))).toHaveLength(2)
      const stored = (await secretOf('leased'))!
      secrets.add(stored.data.access_token)
      expect(deviceTokens(synapse.dir, userId, deviceId)).toEqual([stored.data.access_token])
      // Nothing is left journalled: the refused runs wrote nothing, the winner removed its entry.
      const journalled = (await baoApi(bao.address, bao.rootToken, 'LIST', 'secret/metadata/race/pending')).body?.data as {keys?: string[]} | undefined
      expect(journalled?.keys ?? []).not.toContain(pendingKey(secretAccount(userId, deviceId)))
      // The session's homeserver is the relay's address.
      expect((await mxtok('b', ['revoke', 'leased'])).code).toBe(0)
      expect(deviceTokens(synapse.dir, userId, deviceId)).toEqual([])
    } finally {
      gate.open()
      await gate.stop()
    }
  })

  it("two runs journalling the same device at the same moment: the check-and-set decides, and the other reads the winner's entry and stops", async () => {
    const userId = `@racecas${process.pid}:localhost`
    const deviceId = deriveDeviceId(userId, 'cas')
    const by = `${userInfo().username}@${hostname()}`
    // Both runs' journal changes are applied to what they read before either writes: both write the
    // entry on version 0, and only one write can succeed.
    let arrived = 0
    let release = () => {}
    const bothRead = new Promise<void>((resolve) => (release = resolve))
    const runs: Promise<Session>[] = []
    const run = (i: number, pid: number) => {
      const home = new VaultRegistry(
        parseVaultLocation('secret/race'),
        () => connectVault({BAO_ADDR: bao.address, BAO_TOKEN: bao.rootToken}),
        () => {},
        by,
      )
      let first = true
      const registry = Object.assign(Object.create(home) as VaultRegistry, {
        update: <T>(change: (s: Map<string, Session>, p: Map<string, PendingLogin>) => T | Promise<T>, scope?: UpdateScope) =>
          home.update(async (s, p) => {
            const result = await change(s, p)
            if (first) {
              first = false
              if (++arrived === 2) release()
              await bothRead
            }
            return result
          }, scope),
      })
      const deps = {registry, self: {by, pid, requestMs: 30_000}, now: () => new Date(), warn: () => {}} as unknown as Deps
      const session: Session = {
        name: 'cas',
        userId,
        homeserver: synapse.baseUrl,
        deviceId,
        createdAt: new Date().toISOString(),
        store: 'vault',
        auth: 'password',
      }
      return journalledLogin<string>(
        {
          name: 'cas',
          homeserver: synapse.baseUrl,
          store: new TeamStore(home),
          target: {who: userId, deviceId},
          kind: {auth: 'password'},
          takes: {requests: 3},
          // The login of a run that journalled waits for the other run to end (5 s at most), so that
          // no entry is removed before the other run's write lands.
          obtain: async () => {
            await Promise.race([runs[1 - i].catch(() => {}), new Promise((r) => setTimeout(r, 5000))])
            return {session, secret: `syt_cas_${pid}`}
          },
          end: async () => {},
          endFailed: (m) => m,
          stranded: () => 'stranded',
        },
        deps,
      )
    }
    // Two live processes of this host: this one and its parent.
    runs.push(run(0, process.pid), run(1, process.ppid))
    const outcomes = await Promise.allSettled(runs)
    const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')
    expect(lost).toHaveLength(1)
    expect(lost[0].reason).toMatchObject({
      kind: 'config',
      message: expect.stringMatching(/^session "cas" \(device \S+ of \S+\) is being logged in to by another run \(\S+ pid \d+, /),
    })
    expect((await secretOf('cas'))!.data.access_token).toMatch(/^syt_cas_\d+$/)
    expect((await mxtok('a', ['revoke', 'cas', '--local-only'])).code).toBe(0)
  })

  it('of two operators creating the same name for different users, one wins and the other is told', async () => {
    const one = await registerUser(synapse, `raceone${process.pid}`, PASSWORD)
    const two = await registerUser(synapse, `racetwo${process.pid}`, PASSWORD)
    const runs = await Promise.all([
      mxtok('a', ['create', 'shared', '--user', one, '--homeserver', synapse.baseUrl]),
      mxtok('b', ['create', 'shared', '--user', two, '--homeserver', synapse.baseUrl]),
    ])
    for (const r of runs) if (r.code !== 0) expectOneLineError(r)
    const stored = (await secretOf('shared'))!
    const owner = stored.data.user_id
    expect([one, two]).toContain(owner)
    secrets.add(stored.data.access_token)
    // The loser's token, replaced, was logged out: neither user's device holds a token nobody has.
    expect(deviceTokens(synapse.dir, owner, deriveDeviceId(owner, 'shared'))).toEqual([stored.data.access_token])
    const other = owner === one ? two : one
    expect(deviceTokens(synapse.dir, other, deriveDeviceId(other, 'shared'))).toEqual([])
    expect((await mxtok('a', ['revoke', 'shared'])).code).toBe(0)
    await baoAdmin(bao.address, bao.rootToken, 'DELETE', 'secret/metadata/race/sessions/shared')
  })
})

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

async function until(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`not done within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
