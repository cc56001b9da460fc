// mxtok rotate against the real Synapse: the old token dies, the new one works, for a password
// session (its device made again) and an admin login (made again, the old one logged out).
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'rotate-password-do-not-leak'

describe('mxtok rotate on Synapse', () => {
  const secrets = new Set<string>([PASSWORD])
  let configDir: string
  let userId: string
  let adminId: string
  const {mxtok, token} = mxtokRunner(keyringEnv, () => configDir, secrets)

  beforeAll(async () => {
    configDir = tempDir('mxtok-rotate-')
    userId = await registerUser(synapse, `rotate${process.pid}`, PASSWORD)
    adminId = await registerUser(synapse, `rotateadmin${process.pid}`, PASSWORD, true)
  })

  it('a password session: refused without --yes when nobody can be asked, then rotated on the same device with --yes', async () => {
    const c = await mxtok(['create', 'bot', '--user', userId, '--homeserver', synapse.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(c.code, c.stderr).toBe(0)
    const old = await token('bot')

    const refused = await mxtok(['rotate', 'bot', '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(refused.code).toBe(2)
    expectOneLineError(refused)
    expect(refused.stderr).toContain('pass --yes')
    expect((await rawWhoami(synapse.baseUrl, old)).status).toBe(200)

    const r = await mxtok(['rotate', 'bot', '--yes', '--password-stdin', '--json'], {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
    const deviceId = deriveDeviceId(userId, 'bot')
    expect(JSON.parse(r.stdout)).toEqual({
      name: 'bot',
      kind: 'password',
      userId,
      deviceId,
      homeserver: synapse.baseUrl,
      rotatedAt: expect.any(String),
      deviceKept: false,
    })
    const fresh = await token('bot')
    expect(fresh).not.toBe(old)
    expect((await rawWhoami(synapse.baseUrl, old)).status).toBe(401)
    expect(await rawWhoami(synapse.baseUrl, fresh)).toMatchObject({status: 200, body: {user_id: userId, device_id: deviceId}})
  })

  it("an admin login: made again with the admin's session, the old token logged out", async () => {
    const a = await mxtok(['create', 'boss', '--user', adminId, '--homeserver', synapse.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(a.code, a.stderr).toBe(0)
    const c = await mxtok(['create', 'as-bot', '--user', userId, '--as', 'boss', '--expires', '1d'])
    expect(c.code, c.stderr).toBe(0)
    const old = await token('as-bot')

    const r = await mxtok(['rotate', 'as-bot', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({name: 'as-bot', kind: 'admin', userId, deviceKept: false})
    const fresh = await token('as-bot')
    expect(fresh).not.toBe(old)
    expect((await rawWhoami(synapse.baseUrl, old)).status).toBe(401)
    expect((await rawWhoami(synapse.baseUrl, fresh)).status).toBe(200)
  })

  it('leaves nothing for doctor: no journal entry, no token that no session names', async () => {
    const d = await mxtok(['doctor', '--json'])
    expect(d.code, d.stderr).toBe(0)
    expect(JSON.parse(d.stdout).orphans).toEqual([])
  })
})
