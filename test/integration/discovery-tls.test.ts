// Client discovery over real TLS: https://localhost/.well-known/matrix/client is served on port 443
// by the test set-up, with a certificate that only a throwaway CA vouches for.
import {beforeAll, describe, expect, it} from 'vitest'
import {expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {rawLogin, rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const wellKnown = await service('wellKnown')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'discovery-password-do-not-leak'
const secrets = new Set<string>([PASSWORD])

let userId: string
let configDir: string
const {mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)
const trusted = {NODE_EXTRA_CA_CERTS: wellKnown.caFile}

beforeAll(async () => {
  userId = await registerUser(synapse, `disco${process.pid}`, PASSWORD)
  expect(userId).toBe(`@disco${process.pid}:${wellKnown.serverName}`)
  configDir = tempDir('mxtok-disco-')
})

describe('discovery through https://localhost/.well-known/matrix/client', () => {
  it('create without --homeserver finds the test Synapse, and the token works there', async () => {
    const r = await mxtok(['create', 'found', '--user', userId, '--password-stdin', '--json'], trusted, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({userId, homeserver: wellKnown.homeserver})
    const t = await mxtok(['token', 'found'])
    secrets.add(t.stdout.trim())
    expect(await rawWhoami(synapse.baseUrl, t.stdout.trim())).toMatchObject({status: 200, body: {user_id: userId}})
  })

  it('import with --user alone finds it too', async () => {
    const raw = await rawLogin(synapse.baseUrl, userId, PASSWORD, 'DISCOIMPORT')
    secrets.add(raw.access_token)
    const r = await mxtok(['import', 'imported', '--token-stdin', '--user', userId, '--json'], trusted, `${raw.access_token}\n`)
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({userId, deviceId: 'DISCOIMPORT', homeserver: wellKnown.homeserver})
  })

  it('without the CA, the certificate is refused: one line naming NODE_EXTRA_CA_CERTS, nothing created', async () => {
    const r = await mxtok(['create', 'untrusted', '--user', userId, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(r.code).toBe(5)
    expectOneLineError(r)
    expect(r.stderr).toContain('localhost')
    expect(r.stderr).toContain('NODE_EXTRA_CA_CERTS')
    expect((await mxtok(['list', '--offline', '--json'])).stdout).not.toContain('"untrusted"')
  })
})
