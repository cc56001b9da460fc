// The same user ID on Synapse and on Dendrite (both are named "localhost"): two accounts that
// share nothing but their name, and mxtok must keep them apart.
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {mxtokRunner, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {rawLogin, rawWhoami, registerUser} from '../support/synapse.js'

const homeservers = await service('homeservers')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'twin-password-do-not-leak'
const secrets = new Set<string>([PASSWORD])

const server = (kind: string) => {
  const found = homeservers.find((h) => h.kind === kind)
  if (!found) throw new Error(`global setup provided no ${kind}`)
  return found
}
const synapse = server('synapse')
const dendrite = server('dendrite')

let userId: string
let configDir: string
const {mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)

async function create(name: string, baseUrl: string) {
  const r = await mxtok(['create', name, '--user', userId, '--homeserver', baseUrl, '--password-stdin', '--json'], {}, `${PASSWORD}\n`)
  expect(r.code, r.stderr).toBe(0)
}

beforeAll(async () => {
  const localpart = `twin${process.pid}`
  const ids = await Promise.all([registerUser(synapse, localpart, PASSWORD), registerUser(dendrite, localpart, PASSWORD)])
  expect(ids[0]).toBe(ids[1])
  userId = ids[0]
  configDir = tempDir('mxtok-twin-')
})

describe('one user ID with sessions on two homeservers', () => {
  it('list matches each session with the devices of its own homeserver', async () => {
    await create('on-synapse', synapse.baseUrl)
    await create('on-dendrite', dendrite.baseUrl)
    // A device on Synapse only, that the Dendrite account must not be credited with.
    const plain = await rawLogin(synapse.baseUrl, userId, PASSWORD, 'TWINPLAIN')
    secrets.add(plain.access_token)

    const r = await mxtok(['list', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out.sessions.map((s: {name: string; homeserver: string; onServer: boolean}) => [s.name, s.homeserver, s.onServer])).toEqual([
      ['on-dendrite', dendrite.baseUrl, true],
      ['on-synapse', synapse.baseUrl, true],
    ])
    const others = out.devices.map((d: {deviceId: string; homeserver: string}) => [d.homeserver, d.deviceId])
    expect(others).toContainEqual([synapse.baseUrl, 'TWINPLAIN'])
    expect(others).not.toContainEqual([dendrite.baseUrl, 'TWINPLAIN'])
    // Each account's own session device is no "other" device, on either server.
    for (const name of ['on-synapse', 'on-dendrite']) expect(others.map((o: string[]) => o[1])).not.toContain(deriveDeviceId(userId, name))

    const human = await mxtok(['list'])
    expect(human.stdout).not.toMatch(/\bNO\b/)
    expect(human.stdout).toMatch(new RegExp(`TWINPLAIN\\s.*${synapse.baseUrl.replace(/[.]/g, '\\.')}`))
  })

  it('verify checks each session at its own homeserver, and revoking one leaves the other', async () => {
    const v = await mxtok(['verify', '--json'])
    expect(v.code, v.stderr).toBe(0)
    expect(JSON.parse(v.stdout).map((x: {name: string; status: string}) => [x.name, x.status])).toEqual([
      ['on-dendrite', 'valid'],
      ['on-synapse', 'valid'],
    ])
    const tokens = Object.fromEntries(
      await Promise.all(
        ['on-synapse', 'on-dendrite'].map(async (name) => {
          const t = (await mxtok(['token', name])).stdout.trim()
          secrets.add(t)
          return [name, t] as const
        }),
      ),
    )
    expect(tokens['on-synapse']).not.toBe(tokens['on-dendrite'])
    const r = await mxtok(['revoke', 'on-dendrite'])
    expect(r.code, r.stderr).toBe(0)
    expect((await rawWhoami(dendrite.baseUrl, tokens['on-dendrite'])).status).toBe(401)
    expect((await rawWhoami(synapse.baseUrl, tokens['on-synapse'])).status).toBe(200)
    expect((await mxtok(['verify', 'on-synapse'])).code).toBe(0)
  })
})
