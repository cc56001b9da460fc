// The same user ID on Synapse and on Dendrite (both are named "localhost"): two accounts that
// share nothing but their name, and mxtok must keep them apart.
import {beforeAll, describe, expect, inject, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {mxtokRunner, tempDir} from '../support/cli.js'
import {rawLogin, registerUser} from '../support/synapse.js'

const homeservers = inject('homeservers')
const keyringEnv = inject('keyringEnv')
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
})
