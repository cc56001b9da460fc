// mxtok's whole life cycle against each Secret Service there is on Linux desktops — gnome-keyring,
// KeePassXC and KWallet — each on a private bus of its own, checked from outside: a plain Secret
// Service session for what is in the keychain, raw HTTP for what the server thinks of a token.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {called, startRelay} from '../support/bus-relay.js'
import {type CliResult, expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {keyringChildEnv} from '../support/private-bus.js'
import {readSecret} from '../support/secret-reader.js'
import {SERVICE_KINDS, type SecretServiceUnderTest, type ServiceKind, type ServiceOptions, startSecretService} from '../support/secret-services.js'
import {secretTool, storeWithSecretTool} from '../support/secret-tool.js'
import {writeRegistry} from '../support/seed.js'
import {service} from '../support/services.js'
import {rawLogin, rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const PASSWORD = 'keychain services password'
const PASSPHRASE = 'a passphrase for the file store'
/** Seconds mxtok may wait for the keychain in these tests. */
const TIMEOUT_S = 1

function setUp(kind: ServiceKind, opts: ServiceOptions = {}) {
  const secrets = new Set([PASSWORD, PASSPHRASE])
  const ctx = {service: undefined as unknown as SecretServiceUnderTest, userId: '', configDir: ''}
  const {mxtok} = mxtokRunner({}, () => ctx.configDir, secrets)
  const run = (args: string[], extra: Record<string, string | undefined> = {}, input?: string) =>
    mxtok(args, {...ctx.service.env, MXTOK_PASSWORD: PASSWORD, MXTOK_KEYCHAIN_TIMEOUT: String(TIMEOUT_S), ...extra}, input)
  const create = (name: string, extra: Record<string, string | undefined> = {}) =>
    run(['create', name, '--user', ctx.userId, '--homeserver', synapse.baseUrl], extra)
  const account = (name: string) => `${ctx.userId}/${deriveDeviceId(ctx.userId, name)}`
  /** What the keychain holds for a session, as secret-tool lookup prints it ('' for nothing). */
  const inKeychain = (name: string) => readSecret(ctx.service.env, {service: 'mxtok', username: account(name)})
  const token = async (name: string) => {
    const r = await run(['token', name])
    expect(r.code, r.stderr).toBe(0)
    secrets.add(r.stdout.trim())
    return r.stdout.trim()
  }

  beforeAll(async () => {
    ctx.service = await startSecretService(kind, opts)
    process.stderr.write(`${kind}${Object.keys(opts).length ? ` ${JSON.stringify(opts)}` : ''} ready in ${ctx.service.startMs} ms\n`)
    ctx.userId = await registerUser(synapse, `svc${kind.replace(/\W/g, '')}${process.pid}${Date.now() % 100000}`, PASSWORD)
    ctx.configDir = tempDir(`mxtok-${kind}-`)
  })
  afterAll(async () => {
    await ctx.service?.stop()
  })
  return {ctx, secrets, run, create, account, inKeychain, token}
}

describe.each(SERVICE_KINDS)('%s', (kind) => {
  const {ctx, secrets, run, create, account, inKeychain, token} = setUp(kind)

  it('create, token, verify of a batch, list, move and revoke', async () => {
    const names = Array.from({length: 8}, (_, i) => `bot${i}`)
    for (const name of names) {
      const r = await create(name)
      expect(r.code, r.stderr).toBe(0)
    }
    const t = await token('bot0')
    expect(await inKeychain('bot0')).toBe(t)
    expect((await rawWhoami(synapse.baseUrl, t)).status).toBe(200)

    // Eight sessions: verify reads all their tokens in one batch.
    const v = await run(['verify', '--json'])
    expect(v.code, v.stderr).toBe(0)
    expect(JSON.parse(v.stdout).map((s: {status: string}) => s.status)).toEqual(names.map(() => 'valid'))
    const l = await run(['list', '--json'])
    expect(l.code, l.stderr).toBe(0)
    expect(JSON.parse(l.stdout).sessions.map((s: {onServer: boolean}) => s.onServer)).toEqual(names.map(() => true))

    const moved = await token('bot1')
    expect((await run(['move', 'bot1', '--to', 'file'], {MXTOK_PASSPHRASE: PASSPHRASE})).code).toBe(0)
    expect(await inKeychain('bot1')).toBe('')
    expect((await run(['move', 'bot1', '--to', 'keychain'], {MXTOK_PASSPHRASE: PASSPHRASE})).code).toBe(0)
    expect(await inKeychain('bot1')).toBe(moved)

    const r = await run(['revoke', 'bot0'])
    expect(r.code, r.stderr).toBe(0)
    expect((await rawWhoami(synapse.baseUrl, t)).status).toBe(401)
    expect(await inKeychain('bot0')).toBe('')
    expect((await run(['token', 'bot1'])).stdout.trim()).toBe(moved)
  })

  it('reads, verifies and revokes a token that secret-tool stored', async () => {
    const own = tempDir(`mxtok-${kind}-tool-`)
    const deviceId = deriveDeviceId(ctx.userId, 'fromtool')
    const login = await rawLogin(synapse.baseUrl, ctx.userId, PASSWORD, deviceId)
    secrets.add(login.access_token)
    const stored = await storeWithSecretTool(
      keyringChildEnv(ctx.service.env),
      `keyring:${ctx.userId}/${deviceId}@mxtok`,
      {service: 'mxtok', username: `${ctx.userId}/${deviceId}`},
      login.access_token,
    )
    expect(stored.code, stored.stderr).toBe(0)
    await writeRegistry(own, [
      {name: 'fromtool', userId: ctx.userId, homeserver: synapse.baseUrl, deviceId, createdAt: new Date().toISOString(), store: 'keychain', auth: 'password'},
    ])
    const env = {MXTOK_CONFIG_DIR: own, HOME: own}
    const t = await run(['token', 'fromtool'], env)
    expect(t.code, t.stderr).toBe(0)
    expect(t.stdout).toBe(`${login.access_token}\n`)
    expect(JSON.parse((await run(['verify', '--json'], env)).stdout)).toEqual([expect.objectContaining({name: 'fromtool', status: 'valid'})])
    const revoked = await run(['revoke', 'fromtool'], env)
    expect(revoked.code, revoked.stderr).toBe(0)
    expect((await rawWhoami(synapse.baseUrl, login.access_token)).status).toBe(401)
    expect(await inKeychain('fromtool')).toBe('')
  })

  it('an item whose secret is empty is no token: exit 4, nothing printed', async () => {
    expect((await create('emptied')).code).toBe(0)
    // Cleared first: KeePassXC 2.7.4 asks in a dialog before secret-tool replaces an item.
    await secretTool(['clear', 'service', 'mxtok', 'username', account('emptied')], keyringChildEnv(ctx.service.env))
    const emptied = await storeWithSecretTool(
      keyringChildEnv(ctx.service.env),
      `keyring:${account('emptied')}@mxtok`,
      {service: 'mxtok', username: account('emptied')},
      '',
    )
    expect(emptied.code, emptied.stderr).toBe(0)
    expect(await inKeychain('emptied')).toBe('')
    const r = await run(['token', 'emptied'])
    expect(r.code, r.stderr).toBe(4)
    expect(r.stdout).toBe('')
    expectOneLineError(r)
    expect(r.stderr).toMatch(/the stored token of session "emptied" is empty or damaged/)
  })
})

/** A locked keychain: mxtok says so and exits 6 within its timeout. verify says it per session, on stdout. */
function expectLocked(r: CliResult, startedAt: number, verify = false) {
  expect(r.code, `${r.stderr}${r.stdout}`).toBe(6)
  if (verify) expect(r.stdout).toMatch(/keychain is locked|did not answer/)
  else {
    expectOneLineError(r)
    expect(r.stderr).toMatch(/keychain is locked|did not answer/)
  }
  // The keychain timeout, and the start of a process or two.
  expect(Date.now() - startedAt).toBeLessThan(TIMEOUT_S * 1000 + 4000)
}

describe.each([
  ['gnome-keyring', {}],
  ['keepassxc', {}],
  ['keepassxc', {unlockBeforeSearch: false}],
  ['kwallet', {}],
] as [ServiceKind, ServiceOptions][])('%s %j, locked', (kind, opts) => {
  const {ctx, run, create, token} = setUp(kind, opts)

  it('create, token, verify and revoke exit 6 within the timeout; nothing changes on the server; all works once unlocked', async () => {
    expect((await create('before-lock')).code).toBe(0)
    const t = await token('before-lock')
    await ctx.service.lock()
    try {
      let at = Date.now()
      const traced = await create('while-locked', {MXTOK_DEBUG: '1'})
      expectLocked(
        {
          ...traced,
          stderr: traced.stderr
            .split('\n')
            .filter((l) => !l.startsWith('mxtok: debug:'))
            .join('\n'),
        },
        at,
      )
      // Refused before any login: no password went to the server.
      expect(traced.stderr).not.toMatch(/POST \S+\/login/)
      for (const args of [
        ['token', 'before-lock'],
        ['verify', 'before-lock'],
        ['revoke', 'before-lock'],
      ]) {
        at = Date.now()
        expectLocked(await run(args), at, args[0] === 'verify')
      }
      expect((await rawWhoami(synapse.baseUrl, t)).status).toBe(200)
    } finally {
      await ctx.service.unlock()
    }
    expect(await token('before-lock')).toBe(t)
  })
})

describe('KWallet without libqca-qt5-2-plugins: no encrypted session', () => {
  const {run} = setUp('kwallet', {withoutQcaPlugins: true})

  it('doctor fails the keychain, and create stops before anything happens on the server', async () => {
    const d = await run(['doctor'])
    expect(d.code, d.stdout).toBe(6)
    expect(d.stdout).toMatch(/^FAIL store keychain: .*encrypted session/m)
    const c = await run(['create', 'noqca', '--user', '@nobody:localhost', '--homeserver', synapse.baseUrl], {MXTOK_DEBUG: '1'})
    expect(c.code).toBe(6)
    expect(c.stderr).not.toMatch(/POST \S+\/login/)
    expect(c.stderr).toMatch(/encrypted session/)
  })
})

describe('KeePassXC answers writes and deletes with a prompt', () => {
  const {ctx, run, create, inKeychain} = setUp('keepassxc')

  it('mxtok completes those prompts itself, over its one connection', async () => {
    const relay = await startRelay(ctx.service.env.DBUS_SESSION_BUS_ADDRESS)
    try {
      const c = await create('prompted', {DBUS_SESSION_BUS_ADDRESS: relay.address})
      expect(c.code, c.stderr).toBe(0)
      expect(await inKeychain('prompted')).not.toBe('')
      const r = await run(['revoke', 'prompted'], {DBUS_SESSION_BUS_ADDRESS: relay.address})
      expect(r.code, r.stderr).toBe(0)
      expect(await inKeychain('prompted')).toBe('')
      // One connection for each of the two runs: nothing fell back to the binding, which opens its own.
      expect(relay.connections).toBe(2)
      expect(called(relay, 'Prompt')).toHaveLength(2)
      expect(called(relay, 'Dismiss')).toHaveLength(0)
    } finally {
      await relay.stop()
    }
  })
})
