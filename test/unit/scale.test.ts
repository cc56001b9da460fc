import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, beforeEach, describe, expect, it, vi} from 'vitest'
import {LIST_CONCURRENCY, listSessions} from '../../src/core/list-sessions.js'
import {VERIFY_CONCURRENCY, verifySessions} from '../../src/core/verify-sessions.js'
import {closeHttp} from '../../src/matrix/http.js'
import type {Session} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {writeRegistry} from '../support/seed.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

/**
 * A homeserver that knows every token of the test and counts what reaches it: connections (a
 * pool must reuse them), requests in flight at once (concurrency must be bounded), and requests
 * per path. Answers come a little late, so that a missing bound would show.
 */
class CountingHomeserver {
  readonly tokens = new Map<string, {userId: string; deviceId: string}>()
  connections = 0
  readonly requests = new Map<string, number>()
  private server?: Server
  url = ''

  /** Requests in flight at once, over every server of the test: the bound is the client's, not per server. */
  constructor(private readonly load: {inFlight: number; peak: number}) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.load.inFlight++
      this.load.peak = Math.max(this.load.peak, this.load.inFlight)
      const path = (req.url ?? '').split('?')[0]
      this.requests.set(path, (this.requests.get(path) ?? 0) + 1)
      const owner = this.tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''))
      setTimeout(() => {
        this.load.inFlight--
        res.setHeader('content-type', 'application/json')
        if (!owner) {
          res.statusCode = 401
          res.end(JSON.stringify({errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token'}))
        } else if (path === '/_matrix/client/v3/account/whoami') {
          res.end(JSON.stringify({user_id: owner.userId, device_id: owner.deviceId}))
        } else if (path === '/_matrix/client/v3/devices') {
          const devices = [...this.tokens.values()].filter((t) => t.userId === owner.userId).map((t) => ({device_id: t.deviceId}))
          res.end(JSON.stringify({devices}))
        } else {
          res.statusCode = 404
          res.end(JSON.stringify({errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'}))
        }
      }, 20)
    })
    this.server.on('connection', () => this.connections++)
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  reset(): void {
    this.connections = 0
    this.requests.clear()
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise((resolve) => this.server?.close(resolve))
  }
}

// Hundreds of sessions over several accounts on two servers, as with many bridges and bots.
const SESSIONS = 1000
const ACCOUNTS_PER_SERVER = 5
const load = {inFlight: 0, peak: 0}
const servers = [new CountingHomeserver(load), new CountingHomeserver(load)]
let sessions: Session[]
let deps: UnitDeps

beforeAll(async () => {
  await Promise.all(servers.map((s) => s.start()))
  sessions = Array.from({length: SESSIONS}, (_, i) => {
    const server = servers[i % servers.length]
    const account = Math.floor(i / servers.length) % ACCOUNTS_PER_SERVER
    const session: Session = {
      name: `bot${String(i).padStart(4, '0')}`,
      userId: `@bot${account}:${new URL(server.url).host}`,
      homeserver: server.url,
      deviceId: `MXTOK${String(i).padStart(10, '0')}`,
      createdAt: '2026-01-01T00:00:00.000Z',
      store: 'keychain',
      auth: 'password',
    }
    server.tokens.set(`token-${i}`, {userId: session.userId, deviceId: session.deviceId})
    return session
  })
})

afterAll(async () => {
  await closeHttp()
  await Promise.all(servers.map((s) => s.stop()))
})

beforeEach(async () => {
  // Each test starts with a fresh pool, so its connections are its own.
  await closeHttp()
  deps = unitDeps()
  await writeRegistry(deps.registry.dir, sessions)
  for (const [i, s] of sessions.entries()) deps.memory.items.set(secretAccount(s.userId, s.deviceId), `token-${i}`)
  for (const s of servers) s.reset()
  load.peak = 0
})

describe(`verify of ${SESSIONS} sessions`, () => {
  it('checks each once, with at most VERIFY_CONCURRENCY requests and connections per server', async () => {
    const reads = vi.spyOn(deps.memory, 'get')
    const report = await verifySessions([], deps)
    expect(report.results).toHaveLength(SESSIONS)
    expect(report.results.every((r) => r.status === 'valid')).toBe(true)
    expect(reads).toHaveBeenCalledTimes(SESSIONS)
    expect(new Set(reads.mock.calls.map(([account]) => account)).size).toBe(SESSIONS)
    for (const s of servers) {
      expect(s.requests.get('/_matrix/client/v3/account/whoami')).toBe(SESSIONS / servers.length)
      expect(s.connections).toBeGreaterThan(0)
      expect(s.connections).toBeLessThanOrEqual(VERIFY_CONCURRENCY)
    }
    expect(load.peak).toBeGreaterThan(1)
    expect(load.peak).toBeLessThanOrEqual(VERIFY_CONCURRENCY)
  })

  it('reads the registry once and from the keychain only the tokens of the sessions named', async () => {
    const reads = vi.spyOn(deps.memory, 'get')
    const lookups = [vi.spyOn(deps.registry, 'list'), vi.spyOn(deps.registry, 'get')]
    const named = sessions.filter((_, i) => i % 10 === 3)
    const report = await verifySessions(
      named.map((s) => s.name),
      deps,
    )
    expect(report.results.map((r) => [r.name, r.status])).toEqual(named.map((s) => [s.name, 'valid']))
    expect(reads.mock.calls.map(([account]) => account).sort()).toEqual(named.map((s) => secretAccount(s.userId, s.deviceId)).sort())
    expect(lookups.reduce((n, spy) => n + spy.mock.calls.length, 0)).toBe(1)
  })

  it('still names the session that does not exist', async () => {
    await expect(verifySessions([sessions[0].name, 'nope'], deps)).rejects.toThrow(/no session named "nope"/)
  })
})

describe(`list of ${SESSIONS} sessions`, () => {
  it('reads one token and asks once per account, with at most LIST_CONCURRENCY connections', async () => {
    const reads = vi.spyOn(deps.memory, 'get')
    const report = await listSessions({}, deps)
    const accounts = servers.length * ACCOUNTS_PER_SERVER
    expect(report.problems).toEqual([])
    expect(report.sessions).toHaveLength(SESSIONS)
    expect(report.sessions.every((s) => s.onServer === true)).toBe(true)
    expect(report.devices).toEqual([])
    expect(reads).toHaveBeenCalledTimes(accounts)
    for (const s of servers) {
      expect(s.requests.get('/_matrix/client/v3/devices')).toBe(ACCOUNTS_PER_SERVER)
      expect(s.connections).toBeLessThanOrEqual(Math.min(LIST_CONCURRENCY, ACCOUNTS_PER_SERVER))
    }
    expect(load.peak).toBeLessThanOrEqual(LIST_CONCURRENCY)
  })
})
