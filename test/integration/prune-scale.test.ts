// prune on the accounts it exists for: one whose devices piled up (a bridge or bot logging in
// without a device ID at each start) until its device list is larger than 1 MiB, on the real
// Synapse; and the device that shared-secret registration leaves on every account it makes.
import {beforeAll, describe, expect, it} from 'vitest'
import {mxtokRunner, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {rawLogin, registerUser} from '../support/synapse.js'
import {userDevices} from '../support/synapse-db.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'prune-scale-password-do-not-leak'
// A login costs about 30 ms here (16 at a time). Device IDs of 400 characters (Synapse takes up to
// 512) and display names of 100 (its limit) take the list past 1 MiB with 2,000 devices, not 5,000.
const PILED = Number(process.env.PILED ?? 2000)
const NAME = 'WhatsApp bridge puppet for +44 7700 900123 (mautrix-whatsapp, logged in again at each start) ·'
const deviceId = (i: number) => `PILED${String(i).padStart(5, '0')}`.padEnd(400, 'X')

async function inParallel(count: number, width: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: width}, async () => {
      while (next < count) await work(next++)
    }),
  )
}

describe('prune of an account with thousands of devices', () => {
  const secrets = new Set<string>([PASSWORD])
  let configDir: string
  let piled: string
  let listBytes: number
  const {mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)

  beforeAll(async () => {
    const tag = process.pid
    piled = await registerUser(synapse, `piled${tag}`, PASSWORD)
    const admin = await registerUser(synapse, `pileadmin${tag}`, PASSWORD, true)
    configDir = tempDir('mxtok-prune-scale-')
    const c = await mxtok(['create', 'admin', '--user', admin, '--homeserver', synapse.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(c.code, c.stderr).toBe(0)
    const started = performance.now()
    await inParallel(PILED, 16, async (i) => {
      const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/login`, {
        method: 'POST',
        headers: {'content-type': 'application/json'},
        body: JSON.stringify({
          type: 'm.login.password',
          identifier: {type: 'm.id.user', user: piled},
          password: PASSWORD,
          device_id: deviceId(i),
          initial_device_display_name: NAME,
        }),
      })
      expect(res.status).toBe(200)
      await res.arrayBuffer()
    })
    console.log(`${PILED} logins in ${Math.round(performance.now() - started)} ms`)
    const look = await rawLogin(synapse.baseUrl, piled, PASSWORD, 'LOOKER')
    secrets.add(look.access_token)
    const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/devices`, {headers: {authorization: `Bearer ${look.access_token}`}})
    listBytes = (await res.arrayBuffer()).byteLength
    await fetch(`${synapse.baseUrl}/_matrix/client/v3/logout`, {method: 'POST', headers: {authorization: `Bearer ${look.access_token}`}, body: '{}'})
  }, 600_000)

  it('lists them all, past the 1 MiB that other answers may take, through the admin API', async () => {
    expect(listBytes).toBeGreaterThan(1024 * 1024)
    const started = performance.now()
    const r = await mxtok(['prune', '--user', piled, '--as', 'admin', '--keep', '10', '--dry-run', '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    console.log(`prune --as --keep 10 --dry-run of ${PILED + 1} devices (${listBytes} bytes): ${Math.round(performance.now() - started)} ms`)
    // The piled devices and the one registration left, never seen: the oldest of all.
    expect((JSON.parse(r.stdout) as {devices: unknown[]}).devices).toHaveLength(PILED + 1 - 10)
  })

  it('deletes them in batches with the password, keeping the 10 most recently seen', async () => {
    const started = performance.now()
    const r = await mxtok(
      ['prune', '--user', piled, '--homeserver', synapse.baseUrl, '--keep', '10', '--yes', '--password-stdin', '--json'],
      {},
      `${PASSWORD}\n`,
    )
    expect(r.code, r.stdout + r.stderr).toBe(0)
    console.log(`prune --keep 10 of ${PILED + 1} devices: ${Math.round(performance.now() - started)} ms`)
    expect((JSON.parse(r.stdout) as {deleted: string[]}).deleted).toHaveLength(PILED + 1 - 10)
    // Ten left: the temporary device prune logged in with is gone too.
    expect(userDevices(synapse.dir, piled)).toHaveLength(10)
  }, 180_000)
})

describe('the device shared-secret registration leaves', () => {
  const secrets = new Set<string>([PASSWORD])
  let configDir: string
  const {mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)

  it('list flags it, and prune --never-seen deletes it and nothing else', async () => {
    configDir = tempDir('mxtok-never-seen-')
    const user = await registerUser(synapse, `registered${process.pid}`, PASSWORD)
    const [registered] = userDevices(synapse.dir, user)
    const c = await mxtok(['create', 'bot', '--user', user, '--homeserver', synapse.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(c.code, c.stderr).toBe(0)
    // Named but never used since its login: not what --never-seen selects.
    const named = await fetch(`${synapse.baseUrl}/_matrix/client/v3/login`, {
      method: 'POST',
      headers: {'content-type': 'application/json'},
      body: JSON.stringify({
        type: 'm.login.password',
        identifier: {type: 'm.id.user', user},
        password: PASSWORD,
        device_id: 'NAMEDUNUSED',
        initial_device_display_name: 'a phone',
      }),
    })
    secrets.add(((await named.json()) as {access_token: string}).access_token)

    const list = await mxtok(['list', '--json'])
    expect(list.code, list.stderr).toBe(0)
    const devices = (JSON.parse(list.stdout) as {devices: {deviceId: string; neverSeen: boolean}[]}).devices
    expect(devices.find((d) => d.deviceId === registered)).toMatchObject({neverSeen: true})
    const human = await mxtok(['list'])
    expect(human.stdout).toMatch(new RegExp(`${registered}.*never used: no name, never seen`))

    const r = await mxtok(
      ['prune', '--user', user, '--homeserver', synapse.baseUrl, '--never-seen', '--yes', '--password-stdin', '--json'],
      {},
      `${PASSWORD}\n`,
    )
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as {deleted: string[]}).deleted).toEqual([registered])
    const left = userDevices(synapse.dir, user)
    expect(left).not.toContain(registered)
    expect(left).toContain('NAMEDUNUSED')
  })
})
