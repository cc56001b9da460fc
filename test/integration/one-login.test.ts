// create needs one login, not three, where the server's login ends the older tokens of the device
// (src/core/one-token-devices.ts): on Dendrite and on the real MAS, with someone else's token
// already on the session's device. What is left is checked where the truth is: Dendrite's own
// answers for both tokens, and MAS's admin API (Synapse in front of MAS caches MAS's answers about
// a token for about two minutes, so its whoami proves nothing about the old one). Synapse, whose
// login keeps older tokens (element-hq/synapse#6616), gets the reset as before.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {mxtokRunner, tempDir} from '../support/cli.js'
import {type KeyringSession, startKeyring} from '../support/keyring.js'
import {type RealMas, startRealMas} from '../support/real-mas.js'
import {compatSessionOnDevice, issueCompatibilityToken, registerMasUser} from '../support/real-mas-client.js'
import {type RecordingRelay, startRecordingRelay} from '../support/recording-relay.js'
import {service} from '../support/services.js'
import {rawLogin, rawWhoami, registerUser} from '../support/synapse.js'

const PASSWORD = 'one login password'
const secrets = new Set<string>([PASSWORD])
const keyringEnv: Record<string, string> = {}
let keyring: KeyringSession
let configDir: string
const {mxtok, token} = mxtokRunner(keyringEnv, () => configDir, secrets)
const relays: RecordingRelay[] = []

beforeAll(async () => {
  keyring = await startKeyring()
  Object.assign(keyringEnv, keyring.env)
})
afterAll(async () => {
  await Promise.all(relays.map((r) => r.stop()))
  await keyring?.stop()
})

/** The requests create made that may touch a token: its logins and logouts, in order. */
const tokenRequests = (relay: RecordingRelay) =>
  relay.exchanges.filter((e) => e.method === 'POST' && /\/(login|logout)$/.test(e.path)).map((e) => `${e.path.split('/').at(-1)} ${e.status}`)

async function createThrough(relay: RecordingRelay, name: string, userId: string) {
  configDir = tempDir('mxtok-one-login-')
  relay.exchanges.length = 0
  const r = await mxtok(['create', name, '--user', userId, '--homeserver', relay.url, '--password-stdin'], {}, `${PASSWORD}\n`)
  expect(r.code, r.stderr).toBe(0)
  return token(name)
}

describe.each(await service('homeservers'))('on $kind, with a token nobody keeps already on the device', (server) => {
  it(
    server.kind === 'dendrite'
      ? 'one login: the old token is dead, the new one works on the device'
      : 'the device is reset: two logins and a logout, the old token dead',
    async () => {
      const userId = await registerUser(server, `one${server.kind}${process.pid}`, PASSWORD)
      const device = deriveDeviceId(userId, 'bot')
      const old = (await rawLogin(server.baseUrl, userId, PASSWORD, device)).access_token
      secrets.add(old)
      const relay = await startRecordingRelay(server.baseUrl)
      relays.push(relay)

      const fresh = await createThrough(relay, 'bot', userId)

      expect(tokenRequests(relay)).toEqual(server.kind === 'dendrite' ? ['login 200'] : ['login 200', 'logout 200', 'login 200'])
      expect((await rawWhoami(server.baseUrl, old)).status).toBe(401)
      const whoami = await rawWhoami(server.baseUrl, fresh)
      expect(whoami.status).toBe(200)
      expect(whoami.body).toMatchObject({user_id: userId, device_id: device})
    },
  )
})

describe('on the real MAS, with a compatibility session already on the device', () => {
  let stack: RealMas
  beforeAll(async () => {
    stack = await startRealMas()
  })
  afterAll(() => stack?.stop())

  it('one login: MAS holds exactly one live session on the device, the new one, and its token works', async () => {
    const localpart = `one${process.pid}`
    const userId = await registerMasUser(stack.provided, localpart, PASSWORD)
    const device = deriveDeviceId(userId, 'bot')
    secrets.add(await issueCompatibilityToken(stack.provided, localpart, device))
    const [before] = await compatSessionOnDevice(stack.provided, localpart, device)
    expect(before.attributes.finished_at).toBeNull()
    const relay = await startRecordingRelay(stack.provided.baseUrl)
    relays.push(relay)

    const fresh = await createThrough(relay, 'bot', userId)

    expect(tokenRequests(relay)).toEqual(['login 200'])
    const sessions = await compatSessionOnDevice(stack.provided, localpart, device)
    const live = sessions.filter((s) => s.attributes.finished_at === null)
    expect(live).toHaveLength(1)
    expect(live[0].id).not.toBe(before.id)
    expect(sessions.find((s) => s.id === before.id)?.attributes.finished_at).not.toBeNull()
    // A token never used before: Synapse asks MAS about it afresh.
    const whoami = await rawWhoami(stack.provided.baseUrl, fresh)
    expect(whoami.status).toBe(200)
    expect(whoami.body).toMatchObject({user_id: userId, device_id: device})
  })
})
