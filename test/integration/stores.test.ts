import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type CliResult, runCli, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'stores test password'
const PASSPHRASE = 'a passphrase for the file store'

let userId: string
let configDir: string
const secrets = new Set([PASSWORD, PASSPHRASE])

async function mxtok(args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<CliResult> {
  const r = await runCli(args, {env: {...keyringEnv, HOME: configDir, MXTOK_CONFIG_DIR: configDir, MXTOK_PASSWORD: PASSWORD, ...env}, input})
  for (const s of secrets) {
    if (args[0] !== 'token') expect(r.stdout).not.toContain(s)
    expect(r.stderr).not.toContain(s)
  }
  return r
}

async function token(name: string, env: Record<string, string | undefined> = {}): Promise<string> {
  const r = await mxtok(['token', name], env)
  expect(r.code, r.stderr).toBe(0)
  secrets.add(r.stdout.trim())
  return r.stdout.trim()
}

const inKeychain = (name: string) => {
  try {
    return execFileSync('secret-tool', ['lookup', 'service', 'mxtok', 'username', `${userId}/${deriveDeviceId(userId, name)}`], {
      env: {...process.env, ...keyringEnv},
      encoding: 'utf8',
    })
  } catch {
    return ''
  }
}

beforeAll(async () => {
  userId = await registerUser(synapse, `stores${process.pid}`, PASSWORD)
  configDir = tempDir('mxtok-stores-')
})

describe('the encrypted file store', () => {
  it('create --store file keeps the token in the file; verify, token and revoke find it there', async () => {
    const c = await mxtok(['create', 'filebot', '--user', userId, '--homeserver', synapse.baseUrl, '--store', 'file', '--json'], {MXTOK_PASSPHRASE: PASSPHRASE})
    expect(c.code, c.stderr).toBe(0)
    const t = await token('filebot', {MXTOK_PASSPHRASE: PASSPHRASE})
    expect(inKeychain('filebot')).toBe('')
    const file = readFileSync(join(configDir, 'secrets.enc'), 'utf8')
    expect(file).not.toContain(t)
    expect(JSON.parse(readFileSync(join(configDir, 'sessions.json'), 'utf8')).sessions.filebot.store).toBe('file')

    const v = await mxtok(['verify', 'filebot', '--json'], {MXTOK_PASSPHRASE: PASSPHRASE})
    expect(JSON.parse(v.stdout)[0].status).toBe('valid')
    // No keychain needed for a file-store session.
    expect((await mxtok(['token', 'filebot'], {MXTOK_PASSPHRASE: PASSPHRASE, DBUS_SESSION_BUS_ADDRESS: undefined})).code).toBe(0)

    const wrong = await mxtok(['token', 'filebot'], {MXTOK_PASSPHRASE: 'not it'})
    expect(wrong.code).toBe(6)
    expect(wrong.stderr).toMatch(/^mxtok: wrong passphrase for .*secrets\.enc/)
    const none = await mxtok(['token', 'filebot'])
    expect(none.code).toBe(6)
    expect(none.stderr).toMatch(/needs its passphrase: set MXTOK_PASSPHRASE/)

    const r = await mxtok(['revoke', 'filebot'], {MXTOK_PASSPHRASE: PASSPHRASE})
    expect(r.code, r.stderr).toBe(0)
    expect((await rawWhoami(synapse.baseUrl, t)).status).toBe(401)
  })

  it('create again into the other store leaves no copy of the old token behind in the first', async () => {
    const first = await mxtok(['create', 'switchbot', '--user', userId, '--homeserver', synapse.baseUrl])
    expect(first.code, first.stderr).toBe(0)
    const old = await token('switchbot')
    expect(inKeychain('switchbot')).toBe(old)
    const again = await mxtok(['create', 'switchbot', '--user', userId, '--homeserver', synapse.baseUrl, '--store', 'file'], {MXTOK_PASSPHRASE: PASSPHRASE})
    expect(again.code, again.stderr).toBe(0)
    const fresh = await token('switchbot', {MXTOK_PASSPHRASE: PASSPHRASE})
    expect((await rawWhoami(synapse.baseUrl, fresh)).status).toBe(200)
    expect((await rawWhoami(synapse.baseUrl, old)).status).toBe(401)
    expect(inKeychain('switchbot')).toBe('')
  })

  it('MXTOK_STORE=file chooses the file store without a keychain in sight', async () => {
    const env = {MXTOK_STORE: 'file', MXTOK_PASSPHRASE: PASSPHRASE, DBUS_SESSION_BUS_ADDRESS: undefined}
    const c = await mxtok(['create', 'headless', '--user', userId, '--homeserver', synapse.baseUrl], env)
    expect(c.code, c.stderr).toBe(0)
    expect(c.stdout).toContain('encrypted file store')
    const v = await mxtok(['verify', 'headless'], env)
    expect(v.code, v.stderr).toBe(0)
  })

  it('without a keychain and no store chosen, create names both ways out and logs nothing in', async () => {
    const r = await mxtok(['create', 'nokeychain', '--user', userId, '--homeserver', synapse.baseUrl], {DBUS_SESSION_BUS_ADDRESS: undefined})
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(/start or unlock a keyring.*MXTOK_STORE=file with MXTOK_PASSPHRASE/)
    expect(existsSync(join(configDir, 'sessions.json')) && readFileSync(join(configDir, 'sessions.json'), 'utf8')).not.toContain('nokeychain')
  })

  it('an unknown store is a usage error', async () => {
    const r = await mxtok(['create', 'x', '--user', userId, '--homeserver', synapse.baseUrl, '--store', 'plaintext'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`--store must be one of keychain, file, vault, not "plaintext"`)
  })
})

describe('move', () => {
  it('moves a token from the keychain to the file and back, and it keeps working', async () => {
    expect((await mxtok(['create', 'mover', '--user', userId, '--homeserver', synapse.baseUrl])).code).toBe(0)
    const t = await token('mover')
    expect(inKeychain('mover')).toBe(t)

    const toFile = await mxtok(['move', 'mover', '--to', 'file', '--json'], {MXTOK_PASSPHRASE: PASSPHRASE})
    expect(toFile.code, toFile.stderr).toBe(0)
    expect(JSON.parse(toFile.stdout)).toEqual({name: 'mover', from: 'keychain', to: 'file'})
    expect(inKeychain('mover')).toBe('')
    expect(await token('mover', {MXTOK_PASSPHRASE: PASSPHRASE})).toBe(t)

    const back = await mxtok(['move', 'mover', '--to', 'keychain'], {MXTOK_PASSPHRASE: PASSPHRASE})
    expect(back.code, back.stderr).toBe(0)
    expect(inKeychain('mover')).toBe(t)
    expect(await token('mover')).toBe(t)
    expect((await rawWhoami(synapse.baseUrl, t)).status).toBe(200)
  })

  it('a move to a store that cannot take the token changes nothing', async () => {
    const r = await mxtok(['move', 'mover', '--to', 'file'], {MXTOK_PASSPHRASE: 'a different passphrase'})
    expect(r.code).toBe(6)
    expect(r.stderr).toMatch(/wrong passphrase/)
    expect(inKeychain('mover')).not.toBe('')
    expect(JSON.parse(readFileSync(join(configDir, 'sessions.json'), 'utf8')).sessions.mover.store).toBe('keychain')
    expect((await mxtok(['move', 'mover', '--to', 'keychain'])).code).toBe(2)
  })
})

describe('doctor', () => {
  it('reports each store, the registry and the homeservers, and exits 0 when the configured store works', async () => {
    const r = await mxtok(['doctor', '--json'], {MXTOK_PASSPHRASE: PASSPHRASE})
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report).toMatchObject({
      registry: join(configDir, 'sessions.json'),
      configuredStore: 'keychain',
      ok: true,
      stores: [
        {store: 'keychain', ok: true},
        {store: 'file', ok: true},
        // No MXTOK_VAULT here.
        {store: 'vault', ok: false},
      ],
      homeservers: [{homeserver: synapse.baseUrl, ok: true}],
    })
  })

  it('exits 6 when the configured store does not work, saying why, and 0 once another store is chosen', async () => {
    const r = await mxtok(['doctor'], {DBUS_SESSION_BUS_ADDRESS: undefined})
    expect(r.code).toBe(6)
    expect(r.stdout).toMatch(/^FAIL store keychain: OS keychain \(configured\) — cannot use the OS keychain: there is no D-Bus session bus/m)
    // An earlier test left a session in the file store: it is part of the verdict.
    expect(r.stdout).toMatch(/^FAIL store file: encrypted file store \(holds \d+ sessions?\) — the file store needs its passphrase/m)
    expect(r.stdout).toMatch(/^ok {3}homeserver http:\/\/127\.0\.0\.1:\d+ \(\d+ sessions?\)$/m)
    // A session whose token is in the keychain still needs it; a config without one does not.
    const file = await mxtok(['doctor'], {DBUS_SESSION_BUS_ADDRESS: undefined, MXTOK_STORE: 'file', MXTOK_PASSPHRASE: PASSPHRASE})
    expect(file.code, file.stdout).toBe(6)
    expect(file.stdout).toMatch(/^FAIL store keychain: OS keychain \(holds 1 session\)/m)
    const fresh = await mxtok(['doctor'], {
      DBUS_SESSION_BUS_ADDRESS: undefined,
      MXTOK_STORE: 'file',
      MXTOK_PASSPHRASE: PASSPHRASE,
      MXTOK_CONFIG_DIR: tempDir('mxtok-doctor-'),
    })
    expect(fresh.code, fresh.stdout).toBe(0)
  })

  it('reports a homeserver that does not answer', async () => {
    const other = tempDir('mxtok-doctor-')
    const {writeFileSync} = await import('node:fs')
    writeFileSync(
      join(other, 'sessions.json'),
      JSON.stringify({
        version: 1,
        sessions: {gone: {userId, homeserver: 'http://127.0.0.1:9', deviceId: 'MXTOKGONE', createdAt: new Date(0).toISOString(), store: 'keychain'}},
      }),
    )
    const r = await mxtok(['doctor'], {MXTOK_CONFIG_DIR: other})
    expect(r.code).toBe(5)
    expect(r.stdout).toMatch(/^FAIL homeserver http:\/\/127\.0\.0\.1:9 \(1 session\) — cannot reach 127\.0\.0\.1:9/m)
  })
})
