// The Secret Service reader against the real gnome-keyring: what @napi-rs/keyring writes comes back
// byte for byte, encrypted on the bus, and only the items asked for are read. A relay in front of
// the bus records every call the reader makes, as the keyring sees them.
import {execFileSync, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {AsyncEntry} from '@napi-rs/keyring'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MxtokError} from '../../src/errors.js'
import {KeychainStore} from '../../src/store/keychain-store.js'
import {SecretServiceClient} from '../../src/store/secret-service/client.js'
import {unixSocketPath} from '../../src/store/secret-service/dbus-connection.js'
import type {Variant} from '../../src/store/secret-service/dbus-wire.js'
import {called, type Relay, startRelay} from '../support/bus-relay.js'
import {type KeyringSession, keyringChildEnv, lockKeyring, startKeyring, unlockKeyring, useKeyringInThisProcess} from '../support/keyring.js'
import {writeSecrets} from '../support/secret-writer.js'
import {keepTokens} from '../support/seed.js'
import {service} from '../support/services.js'

const keyringEnv = await service('keyringEnv')
const ROOT = resolve(import.meta.dirname, '../..')

const usernames = (relay: Relay) => called(relay, 'SearchItems').map((c) => (c.body![0] as Map<string, string>).get('username'))
const itemsFetched = (relay: Relay) => called(relay, 'GetSecrets').map((c) => (c.body![0] as string[]).length)

describe('items written by the client', () => {
  const service = `mxtok-writer-${process.pid}`
  const account = '@w:writer.test/DEVICE'
  const binding = () => new AsyncEntry(service, account, {linux: {store: 'secret-service'}})
  let restore: () => void
  beforeAll(() => {
    restore = useKeyringInThisProcess(keyringEnv)
  })
  afterAll(async () => {
    await binding()
      .deleteCredential()
      .catch(() => {})
    restore?.()
  })

  it('are what the binding writes: it reads them, and replaces them in place instead of adding a second item', async () => {
    const relay = await startRelay(keyringEnv.DBUS_SESSION_BUS_ADDRESS)
    const first = `tøken ${randomBytes(12).toString('hex')}`
    const second = `syt_${randomBytes(12).toString('hex')}`
    try {
      const store = new KeychainStore({service, env: {DBUS_SESSION_BUS_ADDRESS: relay.address}})
      await store.check()
      await store.set(account, first)
      expect(await binding().getPassword()).toBe(first)
      await binding().setPassword(second)
      expect(await store.get(account)).toBe(second)
      // One item: a second one would make every later read ambiguous.
      const search = execFileSync('secret-tool', ['search', '--all', 'service', service], {
        env: keyringChildEnv(keyringEnv),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      expect(search.match(/^label = /gm)).toHaveLength(1)
      expect(search).toContain(`label = keyring:${account}@${service}`)

      expect(await store.delete(account)).toBe(true)
      expect(await store.delete(account)).toBe(false)
      expect(await binding().getPassword()).toBeNull()

      expect(relay.connections).toBe(1)
      // The check asks whether the default collection is locked; one item was written, one deleted.
      expect(called(relay, 'Get').map((c) => c.body)).toEqual([['org.freedesktop.Secret.Collection', 'Locked']])
      expect(called(relay, 'CreateItem')).toHaveLength(1)
      expect(called(relay, 'Delete')).toHaveLength(1)
      expect(relay.traffic().includes(Buffer.from(first)), 'a secret crossed the bus in clear').toBe(false)
    } finally {
      await relay.stop()
    }
  })
})

describe('items written by @napi-rs/keyring', () => {
  const service = `mxtok-reader-${process.pid}`
  const secrets = new Map([
    ['@a:reader.test/NONASCII', `tøken ✓ 🔑 ${randomBytes(8).toString('hex')}`],
    // 16 and 32 bytes: PKCS#7 then adds a whole block of padding.
    ['@a:reader.test/SIXTEEN', randomBytes(8).toString('hex')],
    ['@a:reader.test/UTF16BYTES', `éééé${randomBytes(4).toString('hex')}`],
    ['@a:reader.test/THIRTYTWO', randomBytes(16).toString('hex')],
    ['@a:reader.test/LONG', `syt_${randomBytes(1500).toString('base64')}`],
  ])
  let restore: () => void
  const binding = (account: string) => new AsyncEntry(service, account, {linux: {store: 'secret-service'}})

  beforeAll(async () => {
    restore = useKeyringInThisProcess(keyringEnv)
    // Through the binding itself: KeychainStore would write with the client under test.
    for (const [account, secret] of secrets) await binding(account).setPassword(secret)
  })
  afterAll(async () => {
    for (const account of secrets.keys()) await binding(account).deleteCredential()
    restore?.()
  })

  it('are read back byte for byte, in an encrypted session, over one connection', async () => {
    expect(Buffer.byteLength(secrets.get('@a:reader.test/SIXTEEN')!)).toBe(16)
    expect(Buffer.byteLength(secrets.get('@a:reader.test/UTF16BYTES')!)).toBe(16)
    const relay = await startRelay(keyringEnv.DBUS_SESSION_BUS_ADDRESS)
    try {
      // The binding in this process talks to the keyring directly: only the reader goes through the relay.
      const store = new KeychainStore({service, env: {DBUS_SESSION_BUS_ADDRESS: relay.address}})
      for (const [account, secret] of secrets) expect(await store.get(account), account).toBe(secret)
      expect(await store.get('@a:reader.test/MISSING')).toBeNull()

      expect(relay.connections).toBe(1)
      const [open] = called(relay, 'OpenSession')
      expect(open.body![0]).toBe('dh-ietf1024-sha256-aes128-cbc-pkcs7')
      expect((open.body![1] as Variant).signature).toBe('ay')
      expect(called(relay, 'OpenSession')).toHaveLength(1)
      expect(usernames(relay)).toEqual([...secrets.keys(), '@a:reader.test/MISSING'])
      expect(called(relay, 'SearchItems').every((c) => (c.body![0] as Map<string, string>).get('service') === service)).toBe(true)
      expect(itemsFetched(relay)).toEqual([...secrets.keys()].map(() => 1))
      const traffic = relay.traffic()
      for (const secret of secrets.values()) expect(traffic.includes(Buffer.from(secret)), 'a secret crossed the bus in clear').toBe(false)
    } finally {
      await relay.stop()
    }
  })

  it('are found by the reader on its own, and a missing one is no match', async () => {
    const reader = new SecretServiceClient(unixSocketPath(keyringEnv.DBUS_SESSION_BUS_ADDRESS)!, 5000)
    try {
      const accounts = [...secrets.keys(), '@a:reader.test/MISSING']
      const answers = await reader.lookup(accounts.map((username) => ({service, username})))
      expect(answers).toEqual([...[...secrets.values()].map((secret) => ({found: 'one', secret})), {found: 'none'}])
    } finally {
      reader.close()
    }
  })
})

describe('a keyring of its own', () => {
  let own: KeyringSession
  let relay: Relay
  const tokens = new Map(
    Array.from({length: 1000}, (_, i) => [`@u${i}:scale.test/MXTOK${String(i).padStart(4, '0')}`, `syt_${randomBytes(16).toString('base64url')}`]),
  )
  const accounts = [...tokens.keys()]

  beforeAll(async () => {
    own = await startKeyring()
    await keepTokens(own.env, tokens, {collection: 'session'})
  })
  afterAll(async () => {
    await own?.stop()
  })

  it('prefetch of 100 out of 1,000 items searches for those 100 and reads only their secrets', async () => {
    relay = await startRelay(own.env.DBUS_SESSION_BUS_ADDRESS)
    try {
      const store = new KeychainStore({env: {DBUS_SESSION_BUS_ADDRESS: relay.address}})
      const wanted = accounts.filter((_, i) => i % 10 === 3)
      await store.prefetch(wanted)
      for (const account of wanted) expect(await store.get(account)).toBe(tokens.get(account))
      // Each secret came from the prefetch: no search or read beyond its own.
      expect(usernames(relay).sort()).toEqual([...wanted].sort())
      expect(itemsFetched(relay).reduce((a, b) => a + b)).toBe(100)
      expect(Math.max(...itemsFetched(relay))).toBeLessThanOrEqual(16)
      expect(relay.connections).toBe(1)
    } finally {
      await relay.stop()
    }
  })

  it('asks for the first secrets before the last searches are done, so work on them can start', async () => {
    relay = await startRelay(own.env.DBUS_SESSION_BUS_ADDRESS)
    try {
      const store = new KeychainStore({env: {DBUS_SESSION_BUS_ADDRESS: relay.address}})
      const wanted = accounts.slice(0, 450)
      await store.prefetch(wanted)
      expect(await store.get(wanted[0])).toBe(tokens.get(wanted[0]))
      expect(await store.get(wanted[449])).toBe(tokens.get(wanted[449]))
      const members = relay.calls.map((c) => c.member)
      expect(members.indexOf('GetSecrets')).toBeGreaterThan(-1)
      expect(members.indexOf('GetSecrets')).toBeLessThan(members.lastIndexOf('SearchItems'))
    } finally {
      await relay.stop()
    }
  })

  it('says an item of a locked collection is locked, and still reads unlocked ones', async () => {
    const inLogin = new Map([['@l:lock.test/LOCKED1', `syt_${randomBytes(12).toString('hex')}`]])
    await keepTokens(own.env, inLogin)
    const reader = new SecretServiceClient(unixSocketPath(own.env.DBUS_SESSION_BUS_ADDRESS)!, 5000)
    await lockKeyring(own.env)
    try {
      const answers = await reader.lookup(['@l:lock.test/LOCKED1', accounts[0]].map((username) => ({service: 'mxtok', username})))
      expect(answers).toEqual([{found: 'locked'}, {found: 'one', secret: tokens.get(accounts[0])}])
    } finally {
      reader.close()
      await unlockKeyring(own.env)
    }
  })

  it('finds two items for one account unclear', async () => {
    // gnome-keyring replaces an item with the same attributes within a collection, not across two.
    await keepTokens(own.env, new Map([[accounts[1], 'a second item']]))
    const reader = new SecretServiceClient(unixSocketPath(own.env.DBUS_SESSION_BUS_ADDRESS)!, 5000)
    try {
      expect(await reader.lookup([{service: 'mxtok', username: accounts[1]}])).toEqual([{found: 'unclear'}])
    } finally {
      reader.close()
    }
  })
})

describe('a bus that accepts connections and never answers', () => {
  let socket: string
  let server: Server
  beforeAll(async () => {
    socket = join(mkdtempSync(join(tmpdir(), 'mxtok-silent-')), 'bus')
    server = createServer(() => {})
    await new Promise<void>((done) => server.listen(socket, done))
  })
  afterAll(() => {
    server?.close()
  })

  it('gives the keychain error, one line that says what to do, for get and after a prefetch', async () => {
    const store = new KeychainStore({env: {DBUS_SESSION_BUS_ADDRESS: `unix:path=${socket}`}, timeoutMs: 200})
    const error = await store.get('@a:hs/DEV').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MxtokError)
    expect(error).toMatchObject({kind: 'keychain'})
    const message = (error as Error).message
    expect(message).toMatch(/^cannot use the OS keychain: the D-Bus session bus or the Secret Service did not answer within 0\.2 s; start or unlock a keyring/)
    expect(message).not.toContain('\n')

    const again = new KeychainStore({env: {DBUS_SESSION_BUS_ADDRESS: `unix:path=${socket}`}, timeoutMs: 200})
    await again.prefetch(['@a:hs/DEV1', '@a:hs/DEV2'])
    await expect(again.get('@a:hs/DEV1')).rejects.toThrow(message)
  })

  /** A process that reads one account and then has nothing left to do: it must end by itself. */
  function readInChild(busAddress: string, service: string, account: string): Promise<{code: number | null; signal: string | null; stdout: string}> {
    const script = join(mkdtempSync(join(tmpdir(), 'mxtok-reader-child-')), 'read.mts')
    writeFileSync(
      script,
      `import {KeychainStore} from ${JSON.stringify(join(ROOT, 'src/store/keychain-store.ts'))}
const store = new KeychainStore({service: process.env.SERVICE, env: {DBUS_SESSION_BUS_ADDRESS: process.env.BUS}, timeoutMs: 300})
try {
  const secret = await store.get(process.env.ACCOUNT)
  // Whether the keychain binding's native code was loaded into this process.
  const binding = (await import('node:fs')).readFileSync('/proc/self/maps', 'utf8').includes('keyring.linux')
  process.stdout.write((secret === null ? 'none' : 'found ' + secret.length) + (binding ? ', binding loaded' : ''))
} catch (error) {
  process.stdout.write('error: ' + error.message)
}
// As every command does at its end (commandContext's finish): a search can be answered before the
// key exchange sent with it, and gnome-keyring aborts on an answer due to a client that is gone.
await (await import(${JSON.stringify(join(ROOT, 'src/store/secret-service/index.ts'))})).settleBusCalls(1000)
`,
    )
    return new Promise((done, fail) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: ROOT,
        env: {PATH: process.env.PATH, BUS: busAddress, SERVICE: service, ACCOUNT: account},
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let stdout = ''
      child.stdout.on('data', (d) => (stdout += d))
      // Only a process kept alive by its connection gets here.
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      child.on('error', fail)
      child.on('close', (code, signal) => {
        clearTimeout(timer)
        done({code, signal, stdout})
      })
    })
  }

  it('does not keep the process alive, and neither does a connection that answered; a read loads no native code', async () => {
    const silent = await readInChild(`unix:path=${socket}`, 'mxtok', '@a:hs/DEV')
    expect(silent).toEqual({code: 0, signal: null, stdout: expect.stringMatching(/^error: cannot use the OS keychain: .*did not answer within 0\.3 s/)})
    const service = `mxtok-child-${process.pid}`
    await writeSecrets(unixSocketPath(keyringEnv.DBUS_SESSION_BUS_ADDRESS)!, 'session', [
      {label: 'child read', attributes: {service, username: '@a:hs/DEV'}, secret: 'twelve bytes'},
    ])
    try {
      expect(await readInChild(keyringEnv.DBUS_SESSION_BUS_ADDRESS, service, '@a:hs/DEV')).toEqual({code: 0, signal: null, stdout: 'found 12'})
      expect(await readInChild(keyringEnv.DBUS_SESSION_BUS_ADDRESS, service, '@nobody:hs/NONE')).toEqual({code: 0, signal: null, stdout: 'none'})
    } finally {
      execFileSync('secret-tool', ['clear', 'service', service], {env: keyringChildEnv(keyringEnv)})
    }
  })
})
