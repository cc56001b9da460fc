import {spawnSync} from 'node:child_process'
import {mkdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type CliResult, expectNoSecrets, expectOneLineError, runCli, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {leftovers, mountSmallDisk, readOnlyView, type SmallDisk} from '../support/small-disk.js'
import {rawLogin, rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'disk full test password'
const PASSPHRASE = 'disk full test passphrase'
const secrets = new Set([PASSWORD, PASSPHRASE])

let userId: string
let home: string
let disk: SmallDisk
const mounts: Array<{unmount(): void}> = []

async function mxtok(configDir: string, args: string[]): Promise<CliResult & {ms: number}> {
  const started = Date.now()
  const r = await runCli(args, {env: {...keyringEnv, HOME: home, MXTOK_CONFIG_DIR: configDir, MXTOK_PASSWORD: PASSWORD, MXTOK_PASSPHRASE: PASSPHRASE}})
  expectNoSecrets(r, secrets, {stdoutToo: args[0] !== 'token'})
  return {...r, ms: Date.now() - started}
}

const create = (dir: string, name: string, store = 'keychain') =>
  mxtok(dir, ['create', name, '--user', userId, '--homeserver', synapse.baseUrl, '--store', store])

/** The device IDs the server holds for the test user, asked with a login of its own. */
async function serverDevices(): Promise<string[]> {
  const {access_token} = await rawLogin(synapse.baseUrl, userId, PASSWORD, 'DISKTESTCHECK')
  const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/devices`, {headers: {Authorization: `Bearer ${access_token}`}})
  return ((await res.json()) as {devices: {device_id: string}[]}).devices.map((d) => d.device_id)
}

/** A failure that names the file, says why in words and exits with the documented code. */
function expectCannotWrite(r: CliResult, dir: string, why: RegExp): void {
  expect(r.code, r.stderr).toBe(8)
  expectOneLineError(r)
  expect(r.stderr).toContain(`cannot write ${dir}/`)
  expect(r.stderr).toMatch(why)
  expect(r.stderr).not.toMatch(/warning|unexpected|report it/i)
}

beforeAll(async () => {
  userId = await registerUser(synapse, `diskfull${process.pid}`, PASSWORD)
  home = tempDir('mxtok-disk-home-')
  disk = mountSmallDisk(64)
  mounts.push(disk)
})

afterAll(() => {
  for (const m of mounts.reverse()) m.unmount()
})

describe('a full disk', () => {
  // 0 pages left: not even a lock can be written; 1: the lock, but not the new registry.
  it.each([0, 1])(
    'with %i pages left, create, move and revoke say so, leave no lock or temporary file, and work at once when space is freed',
    async (pages) => {
      const dir = join(disk.dir, `pages${pages}`)
      mkdirSync(dir, {mode: 0o700})
      const [kept, filed, fresh] = [`kept${pages}`, `filed${pages}`, `fresh${pages}`]
      expect((await create(dir, kept)).code).toBe(0)
      expect((await create(dir, filed, 'file')).code).toBe(0)
      const keptToken = (await mxtok(dir, ['token', kept])).stdout.trim()
      secrets.add(keptToken)
      const registry = readFileSync(join(dir, 'sessions.json'), 'utf8')
      disk.fill(pages)
      try {
        const full = /no space left on device; free some space/
        const created = await create(dir, fresh)
        expectCannotWrite(created, dir, full)
        expect(await serverDevices()).not.toContain(deriveDeviceId(userId, fresh))
        expectCannotWrite(await create(dir, `${fresh}f`, 'file'), dir, full)
        expectCannotWrite(await mxtok(dir, ['move', kept, '--to', 'file']), dir, full)
        expectCannotWrite(await mxtok(dir, ['move', filed, '--to', 'keychain']), dir, full)
        expectCannotWrite(await mxtok(dir, ['revoke', kept]), dir, full)
        // The logout came first, and nothing local was forgotten.
        expect((await rawWhoami(synapse.baseUrl, keptToken)).status).toBe(401)
        expect(leftovers(dir)).toEqual([])
        expect(readFileSync(join(dir, 'sessions.json'), 'utf8')).toBe(registry)
      } finally {
        disk.free()
      }
      const again = await create(dir, fresh)
      expect(again.code, again.stderr).toBe(0)
      expect(again.ms).toBeLessThan(5_000)
      expect(await serverDevices()).toContain(deriveDeviceId(userId, fresh))
      expect((await mxtok(dir, ['move', filed, '--to', 'keychain'])).code).toBe(0)
      const revoked = await mxtok(dir, ['revoke', kept])
      if (pages === 0) {
        expect(revoked.code, revoked.stderr).toBe(0)
      } else {
        // With room for the lock, the failed revoke had removed the keychain item before the registry
        // write failed (revoke-session.ts deletes first): the error says how to finish.
        expect(revoked.code).toBe(4)
        expect(revoked.stderr).toContain(`mxtok revoke ${kept} --local-only`)
        expect((await mxtok(dir, ['revoke', kept, '--local-only'])).code).toBe(0)
      }
      expect((await mxtok(dir, ['token', filed])).code).toBe(0)
      expect(leftovers(dir)).toEqual([])
    },
  )

  it('with room for the locks but not the new secrets file, the file store says so and keeps its old file', async () => {
    const dir = join(disk.dir, 'store')
    mkdirSync(dir, {mode: 0o700})
    expect((await create(dir, 'storekept')).code).toBe(0)
    expect((await create(dir, 'storefiled', 'file')).code).toBe(0)
    const before = readFileSync(join(dir, 'secrets.enc'), 'utf8')
    // Two locks (the registry's and the file store's), then the new secrets file.
    disk.fill(2)
    try {
      expectCannotWrite(await mxtok(dir, ['move', 'storekept', '--to', 'file']), dir, /no space left on device/)
      expect(leftovers(dir)).toEqual([])
      expect(readFileSync(join(dir, 'secrets.enc'), 'utf8')).toBe(before)
    } finally {
      disk.free()
    }
    expect((await mxtok(dir, ['move', 'storekept', '--to', 'file'])).code).toBe(0)
    expect((await mxtok(dir, ['token', 'storekept'])).code).toBe(0)
  })
})

describe('a read-only config directory', () => {
  it('create, move and revoke say it is read-only and change nothing', async () => {
    const dir = tempDir('mxtok-disk-ro-')
    expect((await create(dir, 'rokept')).code).toBe(0)
    expect((await create(dir, 'rofiled', 'file')).code).toBe(0)
    const registry = readFileSync(join(dir, 'sessions.json'), 'utf8')
    const view = readOnlyView(dir)
    mounts.push(view)
    const readOnly = /read-only file system/
    expectCannotWrite(await create(view.dir, 'rofresh'), view.dir, readOnly)
    expect(await serverDevices()).not.toContain(deriveDeviceId(userId, 'rofresh'))
    expectCannotWrite(await mxtok(view.dir, ['move', 'rokept', '--to', 'file']), view.dir, readOnly)
    expectCannotWrite(await mxtok(view.dir, ['revoke', 'rofiled']), view.dir, readOnly)
    expect(readFileSync(join(dir, 'sessions.json'), 'utf8')).toBe(registry)
    // Reading needs no write.
    expect((await mxtok(view.dir, ['token', 'rokept'])).code).toBe(0)
  })

  it('a config directory still to be made on a read-only file system is reported the same way', async () => {
    const view = readOnlyView(tempDir('mxtok-disk-ro-'))
    mounts.push(view)
    const dir = join(view.dir, 'mxtok')
    const r = await create(dir, 'ronew')
    expectCannotWrite(r, view.dir, /read-only file system/)
    expect(r.stderr).toContain(`cannot write ${dir}`)
    const json = await mxtok(dir, ['create', 'ronew', '--user', userId, '--homeserver', synapse.baseUrl, '--json'])
    expect(json.code).toBe(8)
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        kind: 'disk',
        exitCode: 8,
        message: expect.stringMatching(/^cannot write .*: read-only file system; remount it writable, or set MXTOK_CONFIG_DIR/),
      },
    })
    expect(await serverDevices()).not.toContain(deriveDeviceId(userId, 'ronew'))
  })
})

describe('what a killed run left behind', () => {
  const deadPid = () => Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout)

  it('an empty lock is no holder, and temporary files of dead processes are removed', async () => {
    const dir = tempDir('mxtok-disk-left-')
    expect((await create(dir, 'leftkept', 'file')).code).toBe(0)
    const dead = deadPid()
    const old = new Date(Date.now() - 60_000)
    for (const name of ['sessions.json.lock', 'secrets.enc.lock']) {
      writeFileSync(join(dir, name), '')
      utimesSync(join(dir, name), old, old)
    }
    const deadTemps = [`sessions.json.${dead}.1.tmp`, `secrets.enc.${dead}.7.tmp`, `sessions.json.lock.${dead}.2.tmp`]
    for (const name of deadTemps) writeFileSync(join(dir, name), '{"half": ')
    // A live process's temporary file may be one being written: it stays.
    const live = `sessions.json.${process.pid}.1.tmp`
    writeFileSync(join(dir, live), '')
    const r = await create(dir, 'leftfresh', 'file')
    expect(r.code, r.stderr).toBe(0)
    expect(r.ms).toBeLessThan(5_000)
    expect(leftovers(dir)).toEqual([live])
  })
})
