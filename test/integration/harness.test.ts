// Proves that the services from test/support behave as the rest of the suite assumes.
import {spawn} from 'node:child_process'
import {randomUUID} from 'node:crypto'
import {Entry} from '@napi-rs/keyring'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {isKeyringLocked, type KeyringSession, keyringChildEnv, lockKeyring, startKeyring, unlockKeyring, useKeyringInThisProcess} from '../support/keyring.js'
import {service} from '../support/services.js'
import {rawLogin, rawLogout, rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')

function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`
}

function runTool(command: string, args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env, timeout: 10_000})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('error', reject)
    child.on('close', (code) => resolve({code, stdout, stderr}))
    child.stdin.end(input)
  })
}

function secretServiceEntry(service: string, account: string): Entry {
  // Pinned: without it the binding silently falls back to the kernel keyring when no Secret
  // Service answers, and these tests would pass without touching gnome-keyring.
  return new Entry(service, account, {linux: {store: 'secret-service'}})
}

describe('Synapse', () => {
  it('registers a user whose token works until logout', async () => {
    const password = 'correct horse'
    const userId = await registerUser(synapse, uniqueName('harness'), password)
    expect(userId).toMatch(new RegExp(`^@harness-[0-9a-f]{8}:${synapse.serverName}$`))

    const login = await rawLogin(synapse.baseUrl, userId, password)
    expect(login.user_id).toBe(userId)
    expect(login.device_id).toMatch(/^[A-Z]{10}$/)

    const alive = await rawWhoami(synapse.baseUrl, login.access_token)
    expect(alive).toEqual({status: 200, body: expect.objectContaining({user_id: userId, device_id: login.device_id})})

    expect((await rawLogout(synapse.baseUrl, login.access_token)).status).toBe(200)

    const dead = await rawWhoami(synapse.baseUrl, login.access_token)
    expect(dead.status).toBe(401)
    expect(dead.body).toMatchObject({errcode: 'M_UNKNOWN_TOKEN'})
  })

  it('registers admins', async () => {
    const userId = await registerUser(synapse, uniqueName('admin'), 'pw', true)
    const login = await rawLogin(synapse.baseUrl, userId, 'pw')
    const res = await fetch(`${synapse.baseUrl}/_synapse/admin/v2/users/${encodeURIComponent(userId)}`, {
      headers: {Authorization: `Bearer ${login.access_token}`},
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({admin: true})
  })

  // element-hq/synapse#6616: the spec says logging in again with an existing device_id ends that
  // device's earlier tokens; Synapse keeps them. mxtok has to end them itself. If this starts to
  // fail, Synapse has fixed the bug and mxtok's workaround can be revisited.
  it('keeps the old token alive when a device_id is reused (synapse#6616)', async () => {
    const userId = await registerUser(synapse, uniqueName('reuse'), 'pw')
    const first = await rawLogin(synapse.baseUrl, userId, 'pw', 'MXTOKHARNESS')
    const second = await rawLogin(synapse.baseUrl, userId, 'pw', 'MXTOKHARNESS')

    expect(first.device_id).toBe('MXTOKHARNESS')
    expect(second.device_id).toBe('MXTOKHARNESS')
    expect(second.access_token).not.toBe(first.access_token)
    expect((await rawWhoami(synapse.baseUrl, first.access_token)).status).toBe(200)
    expect((await rawWhoami(synapse.baseUrl, second.access_token)).status).toBe(200)
  })

  it('does not rate-limit a burst of logins', async () => {
    const userId = await registerUser(synapse, uniqueName('burst'), 'pw')
    for (let i = 0; i < 12; i++) await rawLogin(synapse.baseUrl, userId, 'pw')
  })
})

describe('keyring', () => {
  it('round-trips a secret through secret-tool in a child process', async () => {
    const env = keyringChildEnv(keyringEnv)
    const attrs = ['mxtok-harness', uniqueName('tool')]
    const store = await runTool('secret-tool', ['store', '--label=harness', ...attrs], env, 's3cret')
    expect(store).toMatchObject({code: 0})
    expect(await runTool('secret-tool', ['lookup', ...attrs], env)).toMatchObject({code: 0, stdout: 's3cret'})
    expect((await runTool('secret-tool', ['clear', ...attrs], env)).code).toBe(0)
    expect((await runTool('secret-tool', ['lookup', ...attrs], env)).stdout).toBe('')
  })

  it('lets @napi-rs/keyring in this worker use the keyring once process.env points at it', async () => {
    const restore = useKeyringInThisProcess(keyringEnv)
    try {
      const account = uniqueName('napi')
      const entry = secretServiceEntry('mxtok-harness', account)
      entry.setPassword('from-napi')
      expect(entry.getPassword()).toBe('from-napi')

      // Seen from outside the process, so the secret is known to be in gnome-keyring and not in
      // some in-process fallback.
      const outside = await runTool('secret-tool', ['lookup', 'service', 'mxtok-harness', 'username', account], keyringChildEnv(keyringEnv))
      expect(outside).toMatchObject({code: 0, stdout: 'from-napi'})

      expect(entry.deletePassword()).toBe(true)
      expect(entry.getPassword()).toBeNull()
    } finally {
      restore()
    }
  })
})

// Locking is global to a keyring, so these tests use one of their own instead of the shared one,
// which other test files may be using at the same moment. The binding is driven from a child
// process because this worker is already tied to the shared keyring (see useKeyringInThisProcess).
describe('locked keyring', () => {
  let own: KeyringSession

  beforeAll(async () => {
    own = await startKeyring()
  })

  afterAll(async () => {
    await own?.stop()
  })

  async function napiInChild(op: 'get' | 'set', account: string, password = ''): Promise<unknown> {
    const script = `
      import { Entry } from '@napi-rs/keyring';
      const [op, account, password] = process.argv.slice(1);
      const entry = new Entry('mxtok-harness', account, { linux: { store: 'secret-service' } });
      try {
        const value = op === 'set' ? entry.setPassword(password) : entry.getPassword();
        console.log(JSON.stringify({ value: value ?? null }));
      } catch (err) {
        console.log(JSON.stringify({ error: err.message }));
      }`
    const res = await runTool(process.execPath, ['--input-type=module', '-e', script, op, account, password], keyringChildEnv(own.env))
    expect(res).toMatchObject({code: 0})
    return JSON.parse(res.stdout)
  }

  it('refuses reads while locked and serves them again after unlock', async () => {
    const account = uniqueName('locked')
    const env = keyringChildEnv(own.env)
    expect(await napiInChild('set', account, 'before-lock')).toEqual({value: null})

    await lockKeyring(own.env)
    expect(await isKeyringLocked(own.env)).toBe(true)

    const lookup = await runTool('secret-tool', ['lookup', 'service', 'mxtok-harness', 'username', account], env)
    expect(lookup.stdout).toBe('')
    expect(await napiInChild('get', account)).toEqual({error: expect.stringMatching(/unlock prompt was dismissed/)})
    // A missing entry reads as absent, not as locked: only existing items reveal the lock.
    expect(await napiInChild('get', uniqueName('absent'))).toEqual({value: null})

    await unlockKeyring(own.env)
    expect(await isKeyringLocked(own.env)).toBe(false)
    expect(await napiInChild('get', account)).toEqual({value: 'before-lock'})
  })
})

describe('useKeyringInThisProcess', () => {
  it('refuses to point this process at a second keyring', () => {
    const shared = keyringEnv
    useKeyringInThisProcess(shared)()
    const other = {...shared, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent'}
    expect(() => useKeyringInThisProcess(other)).toThrow(/already used the keyring/)
  })
})
