// exec following its session: the command restarted with the new token when the token changes,
// stopped when the session ends, left alone with --no-restart. Fake children and a fake clock: the
// registry is a real file, the store is in memory, the homeserver is nock.
import {EventEmitter} from 'node:events'
import nock from 'nock'
import {afterEach, beforeAll, beforeEach, describe, expect, it, vi} from 'vitest'
import {DEFAULT_RESTART, type ExecOptions, execSession, withoutOwnVariables} from '../../src/core/exec-session.js'
import {REGISTRY_POLL_MS, RETRY_MS, SHARED_STORE_POLL_MS} from '../../src/core/session-watch.js'
import {MxtokError} from '../../src/errors.js'
import type {AdminLoginKey, Session} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const USER = '@bot:hs.example'
const DEVICE = 'MXTOKAAAAAAAAAA'
const ACCOUNT = secretAccount(USER, DEVICE)
const OLD = 'syt_old_token_aaaa'
const NEW = 'syt_new_token_bbbb'
const START = Date.parse('2026-01-02T03:04:05.000Z')
const realSetTimeout = globalThis.setTimeout

/** A command that ends on the signals it is told to heed (and always on SIGKILL), as a real one would, a moment later. */
class FakeChild extends EventEmitter {
  readonly signals: string[] = []
  private ended = false

  constructor(
    readonly env: NodeJS.ProcessEnv,
    private readonly heeds: ReadonlySet<string>,
  ) {
    super()
  }

  kill(signal: NodeJS.Signals): boolean {
    if (this.ended) return false
    this.signals.push(signal)
    if (signal === 'SIGKILL' || this.heeds.has(signal)) this.exit(null, signal)
    return true
  }

  exit(code: number | null, signal: NodeJS.Signals | null = null): void {
    this.ended = true
    process.nextTick(() => this.emit('exit', code, signal))
  }
}

function fakeSpawn(heeds: string[] = ['SIGTERM']) {
  const children: FakeChild[] = []
  const spawn = ((_file: string, _args: string[], options: {env: NodeJS.ProcessEnv}) => {
    const child = new FakeChild(options.env, new Set(heeds))
    children.push(child)
    return child
  }) as unknown as ExecOptions['spawn']
  return {children, spawn}
}

const session = (over: Partial<Session> = {}): Session =>
  ({
    name: 'bot',
    userId: USER,
    homeserver: 'https://hs.example',
    deviceId: DEVICE,
    createdAt: '2026-01-01T00:00:00.000Z',
    store: 'keychain',
    auth: 'password',
    ...over,
  }) as Session

async function withSession(over: Partial<Session> = {}, secret = OLD): Promise<UnitDeps> {
  const deps = {...unitDeps(), now: () => new Date()}
  await deps.registry.update((sessions) => void sessions.set('bot', session(over)))
  deps.memory.items.set(ACCOUNT, secret)
  return deps as UnitDeps
}

/** What `mxtok rotate` or `create` again leaves: a new token in the store, the registry rewritten. */
async function replaceToken(deps: UnitDeps, token = NEW) {
  await deps.registry.update((sessions) => {
    deps.memory.items.set(ACCOUNT, token)
    sessions.set('bot', session({createdAt: new Date().toISOString()}))
  })
}

/** Lets real I/O (a nock reply, a file read) happen while the clock stands still. */
const realTime = (ms = 20) => new Promise((resolve) => realSetTimeout(resolve, ms))

async function until(what: () => boolean) {
  for (let i = 0; i < 100 && !what(); i++) await realTime(10)
  expect(what()).toBe(true)
}

/** exec as the command line starts it, once the command has been started; `exited` is how it ends. */
async function run(deps: UnitDeps, spawn: ExecOptions['spawn'], restart: ExecOptions['restart'] | 'off' = DEFAULT_RESTART) {
  const exited = execSession({name: 'bot', command: ['./bot', '--flag'], env: {PATH: '/bin'}, restart: restart === 'off' ? undefined : restart, spawn}, deps)
  exited.catch(() => {})
  await vi.advanceTimersByTimeAsync(0)
  return {exited}
}

beforeAll(() => nock.disableNetConnect())
beforeEach(() => {
  vi.useFakeTimers({toFake: ['setTimeout', 'clearTimeout', 'Date'], now: START})
})
afterEach(() => {
  vi.useRealTimers()
  nock.cleanAll()
})

describe('exec follows its session', () => {
  it('restarts the command with the new token when the session is rotated, and exits with the status of the one that ends', async () => {
    const deps = await withSession()
    const {children, spawn} = fakeSpawn()
    const {exited} = await run(deps, spawn)
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS * 3)
    expect(children).toHaveLength(1)
    expect(children[0].signals).toEqual([])

    await replaceToken(deps)
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS)
    await until(() => children.length === 2)
    expect(children[0].signals).toEqual(['SIGTERM'])
    expect(children[0].env.MATRIX_ACCESS_TOKEN).toBe(OLD)
    expect(children[1].env).toMatchObject({MATRIX_ACCESS_TOKEN: NEW, MATRIX_USER_ID: USER, MATRIX_DEVICE_ID: DEVICE, PATH: '/bin'})
    expect(deps.warnings).toEqual(['session "bot" has a new token: restarting ./bot'])

    // A restart is not an exit: exec goes on, and follows the new token.
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS * 3)
    expect(children).toHaveLength(2)
    children[1].exit(3)
    expect(await exited).toBe(3)
  })

  it('sends SIGKILL to a command that has not ended when the stop timeout is up, then starts it again', async () => {
    const deps = await withSession()
    const {children, spawn} = fakeSpawn([])
    const {exited} = await run(deps, spawn, {signal: 'SIGUSR1', graceMs: 5_000})
    await replaceToken(deps)
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS)
    await until(() => children[0].signals.length === 1)
    expect(children[0].signals).toEqual(['SIGUSR1'])
    await vi.advanceTimersByTimeAsync(4_999)
    expect(children[0].signals).toEqual(['SIGUSR1'])
    await vi.advanceTimersByTimeAsync(1)
    expect(children[0].signals).toEqual(['SIGUSR1', 'SIGKILL'])
    await until(() => children.length === 2)
    expect(children[1].env.MATRIX_ACCESS_TOKEN).toBe(NEW)
    children[1].exit(0)
    expect(await exited).toBe(0)
  })

  it('with restarts turned off, leaves the command alone whatever happens to the session', async () => {
    const deps = await withSession()
    const {children, spawn} = fakeSpawn()
    const {exited} = await run(deps, spawn, 'off')
    await replaceToken(deps)
    await vi.advanceTimersByTimeAsync(60_000)
    await deps.registry.update((sessions) => void sessions.delete('bot'))
    await vi.advanceTimersByTimeAsync(60_000)
    await realTime()
    expect(children).toHaveLength(1)
    expect(children[0].signals).toEqual([])
    children[0].exit(0, null)
    expect(await exited).toBe(0)
  })

  it('stops the command and fails with exit 4 when the session is revoked', async () => {
    const deps = await withSession()
    const {children, spawn} = fakeSpawn()
    const exited = (await run(deps, spawn)).exited.catch((e: unknown) => e)
    await deps.registry.update((sessions) => {
      deps.memory.items.delete(ACCOUNT)
      sessions.delete('bot')
    })
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS)
    const error = await exited
    expect(error).toBeInstanceOf(MxtokError)
    expect(error).toMatchObject({exitCode: 4, message: 'session "bot" was revoked or forgotten; create it again (./bot was stopped)'})
    expect(children).toHaveLength(1)
    expect(children[0].signals).toEqual(['SIGTERM'])
  })

  it('takes a token missing from the store as the end only when it is still missing at the next check', async () => {
    // A revoke deletes the token, then forgets the session: between the two, the session is not over yet.
    const deps = await withSession({store: 'vault'})
    const {children, spawn} = fakeSpawn()
    const exited = (await run(deps, spawn)).exited.catch((e: unknown) => e)
    deps.memory.items.delete(ACCOUNT)
    await vi.advanceTimersByTimeAsync(SHARED_STORE_POLL_MS)
    await realTime()
    expect(children[0].signals).toEqual([])
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS)
    expect(await exited).toMatchObject({exitCode: 4, message: expect.stringMatching(/holds no token for session "bot".*\(\.\/bot was stopped\)$/)})
    expect(children[0].signals).toEqual(['SIGTERM'])
  })

  it('reads a store that others change (a team vault) every 30 s, where no registry change tells of it', async () => {
    const deps = await withSession({store: 'vault'})
    const {children, spawn} = fakeSpawn()
    const {exited} = await run(deps, spawn)
    deps.memory.items.set(ACCOUNT, NEW)
    await vi.advanceTimersByTimeAsync(SHARED_STORE_POLL_MS - REGISTRY_POLL_MS)
    await realTime()
    expect(children).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS)
    await until(() => children.length === 2)
    expect(children[1].env.MATRIX_ACCESS_TOKEN).toBe(NEW)
    children[1].exit(0)
    expect(await exited).toBe(0)
  })

  it('does not read a keychain that nothing says has changed', async () => {
    const deps = await withSession()
    const {children, spawn} = fakeSpawn()
    const {exited} = await run(deps, spawn)
    const get = vi.spyOn(deps.memory, 'get')
    deps.memory.items.set(ACCOUNT, NEW)
    await vi.advanceTimersByTimeAsync(10 * 60_000)
    expect(get).not.toHaveBeenCalled()
    expect(children).toHaveLength(1)
    children[0].exit(0)
    expect(await exited).toBe(0)
  })

  it('refreshes a token about to expire itself, before it dies, and restarts the command with the new one', async () => {
    const lifetime = 300_000
    const pair = (access: string, refresh: string, at: number) =>
      JSON.stringify({access_token: access, refresh_token: refresh, expires_at: new Date(at).toISOString()})
    const deps = await withSession({}, pair(OLD, 'syr_refresh_1', START + lifetime))
    const {children, spawn} = fakeSpawn()
    const {exited} = await run(deps, spawn)
    const scope = nock('https://hs.example')
      .post('/_matrix/client/v3/refresh', {refresh_token: 'syr_refresh_1'})
      .reply(200, {access_token: NEW, refresh_token: 'syr_refresh_2', expires_in_ms: lifetime})
    // Half the refresh margin (60 s) before the end: the command has 30 s to restart.
    await vi.advanceTimersByTimeAsync(lifetime - 32_000)
    await realTime()
    expect(scope.isDone()).toBe(false)
    expect(children).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS)
    await until(() => children.length === 2)
    expect(scope.isDone()).toBe(true)
    expect(children[1].env.MATRIX_ACCESS_TOKEN).toBe(NEW)
    expect(JSON.parse(deps.memory.items.get(ACCOUNT)!)).toMatchObject({access_token: NEW, refresh_token: 'syr_refresh_2'})
    expect(deps.warnings.join('\n')).not.toMatch(/syr_|syt_/)
    children[1].exit(0)
    expect(await exited).toBe(0)
  })

  it('stops the command when a token that cannot be refreshed reaches its end', async () => {
    const end = new Date(START + 3_600_000).toISOString()
    const deps = await withSession({auth: 'admin', deviceId: DEVICE as AdminLoginKey, admin: {by: '@admin:hs.example'}, expiresAt: end} as Partial<Session>)
    const {children, spawn} = fakeSpawn()
    const exited = (await run(deps, spawn)).exited.catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(3_600_000 - REGISTRY_POLL_MS)
    await realTime()
    expect(children[0].signals).toEqual([])
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS)
    expect(await exited).toMatchObject({exitCode: 4, message: `the token of session "bot" expired at ${end}; create the session again (./bot was stopped)`})
  })

  it('keeps the command running while the store cannot be read, says so once, and follows the session once it can', async () => {
    const deps = await withSession()
    const {children, spawn} = fakeSpawn()
    const {exited} = await run(deps, spawn)
    const get = vi.spyOn(deps.memory, 'get').mockRejectedValue(new MxtokError('keychain', 'cannot use the OS keychain: the keychain is locked'))
    await replaceToken(deps)
    await vi.advanceTimersByTimeAsync(RETRY_MS * 3)
    await realTime()
    expect(children).toHaveLength(1)
    expect(children[0].signals).toEqual([])
    expect(deps.warnings).toEqual([
      'cannot check session "bot" for a new token (cannot use the OS keychain: the keychain is locked); trying again every 10 s, the command keeps its token meanwhile',
    ])
    get.mockRestore()
    await vi.advanceTimersByTimeAsync(RETRY_MS)
    await until(() => children.length === 2)
    expect(children[1].env.MATRIX_ACCESS_TOKEN).toBe(NEW)
    children[1].exit(0)
    expect(await exited).toBe(0)
  })

  it('a signal to stop, sent to mxtok while the command is being restarted, ends the run with its status', async () => {
    const deps = await withSession()
    // Ignores the restart's SIGTERM, ends on SIGINT.
    const {children, spawn} = fakeSpawn(['SIGINT'])
    const {exited} = await run(deps, spawn)
    await replaceToken(deps)
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS)
    await until(() => children[0].signals.length === 1)
    process.emit('SIGINT', 'SIGINT')
    expect(await exited).toBe(128 + 2)
    expect(children).toHaveLength(1)
    expect(children[0].signals).toEqual(['SIGTERM', 'SIGINT'])
  })

  it('passes SIGHUP on during a restart without calling the restart off', async () => {
    const deps = await withSession()
    const {children, spawn} = fakeSpawn([])
    const {exited} = await run(deps, spawn)
    await replaceToken(deps)
    await vi.advanceTimersByTimeAsync(REGISTRY_POLL_MS)
    await until(() => children[0].signals.length === 1)
    process.emit('SIGHUP', 'SIGHUP')
    await vi.advanceTimersByTimeAsync(DEFAULT_RESTART.graceMs)
    await until(() => children.length === 2)
    expect(children[0].signals).toEqual(['SIGTERM', 'SIGHUP', 'SIGKILL'])
    children[1].exit(0)
    expect(await exited).toBe(0)
  })

  it('leaves no signal handler or timer behind', async () => {
    const deps = await withSession()
    const before = process.listenerCount('SIGTERM')
    const {children, spawn} = fakeSpawn()
    const {exited} = await run(deps, spawn)
    children[0].exit(0)
    expect(await exited).toBe(0)
    expect(process.listenerCount('SIGTERM')).toBe(before)
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe("the command's environment", () => {
  it("holds neither mxtok's variables nor the operator's OpenBao/Vault token, and keeps the rest", () => {
    const env = {
      PATH: '/bin',
      MXTOK_PASSPHRASE: 'x',
      BAO_TOKEN: 's.operator',
      VAULT_TOKEN: 'hvs.operator',
      vault_token: 'hvs.lower',
      BAO_ADDR: 'https://vault.example:8200',
      BAO_TOKEN_PATH: '/home/op/.vault-token',
    }
    expect(withoutOwnVariables(env)).toEqual({PATH: '/bin', BAO_ADDR: 'https://vault.example:8200', BAO_TOKEN_PATH: '/home/op/.vault-token'})
  })
})
