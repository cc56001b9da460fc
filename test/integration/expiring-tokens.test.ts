// Password sessions on a server that expires every access token: a Synapse of this file's own,
// whose tokens live a few seconds, against the suite's Synapse, whose tokens do not expire.
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {mxtokRunner, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {rawWhoami, registerUser, type SynapseServer, startSynapse, synapseVenvDir} from '../support/synapse.js'
import {userDevices} from '../support/synapse-db.js'

const keyringEnv = await service('keyringEnv')
const homeservers = await service('homeservers')
const PASSWORD = 'expiring-password-do-not-leak'
const LIFETIME_MS = 3000

/** How many refresh tokens the server holds for a device. */
function refreshTokens(synapseDir: string, userId: string, deviceId: string): number {
  const query = `
import sqlite3, sys
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
print(db.execute('SELECT count(*) FROM refresh_tokens WHERE user_id = ? AND device_id = ?', (sys.argv[2], sys.argv[3])).fetchone()[0])
`
  return Number(execFileSync(join(synapseVenvDir(), 'bin', 'python'), ['-c', query, join(synapseDir, 'homeserver.db'), userId, deviceId], {encoding: 'utf8'}))
}

const outlive = () => new Promise((resolve) => setTimeout(resolve, LIFETIME_MS + 500))

describe('a password session on a server that expires every token', () => {
  const secrets = new Set<string>([PASSWORD])
  let configDir: string
  let server: SynapseServer
  let userId: string
  let deviceId: string
  const {mxtok, token} = mxtokRunner(keyringEnv, () => configDir, secrets)

  beforeAll(async () => {
    server = await startSynapse({tokenLifetime: `${LIFETIME_MS / 1000}s`})
    userId = await registerUser(server, 'expiringbot', PASSWORD)
    configDir = tempDir('mxtok-expiring-')
    const r = await mxtok(['create', 'bot', '--user', userId, '--homeserver', server.baseUrl, '--password-stdin', '--json'], {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
    deviceId = (JSON.parse(r.stdout) as {deviceId: string}).deviceId
  }, 60_000)

  afterAll(async () => {
    await server?.stop()
  })

  it('keeps a refresh token, and hands out a working token after the first one expired', async () => {
    expect(refreshTokens(server.dir, userId, deviceId)).toBe(1)
    const first = await token('bot')
    expect((await rawWhoami(server.baseUrl, first)).status).toBe(200)
    await outlive()
    expect((await rawWhoami(server.baseUrl, first)).status).toBe(401)
    const next = await token('bot')
    expect(next).not.toBe(first)
    expect((await rawWhoami(server.baseUrl, next)).body).toMatchObject({user_id: userId, device_id: deviceId})
  })

  it('verify refreshes an expired token and finds the session valid', async () => {
    await outlive()
    const r = await mxtok(['verify', 'bot', '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject([{name: 'bot', status: 'valid'}])
  })

  it('exec gives the command a token that works after the last one expired', async () => {
    await outlive()
    const check = `fetch(process.env.MATRIX_HOMESERVER_URL + '/_matrix/client/v3/account/whoami', {headers: {authorization: 'Bearer ' + process.env.MATRIX_ACCESS_TOKEN}}).then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(2))`
    const r = await mxtok(['exec', 'bot', '--', process.execPath, '-e', check])
    expect(r.code, r.stderr).toBe(0)
  })

  it('revoke after the access token expired still ends the login: the device and its refresh token go', async () => {
    await outlive()
    const r = await mxtok(['revoke', 'bot'])
    expect(r.code, r.stderr).toBe(0)
    expect(userDevices(server.dir, userId)).not.toContain(deviceId)
    expect(refreshTokens(server.dir, userId, deviceId)).toBe(0)
  })

  // The suite's Synapse and Dendrite (which has no setting to expire tokens) hand out tokens that last.
  it.each(homeservers)('asks for no refresh token where tokens do not expire ($kind)', async (hs) => {
    const plain = await registerUser(hs, `nonexpiring${hs.kind}${process.pid}`, PASSWORD)
    const name = `plain${hs.kind}`
    const r = await mxtok(['create', name, '--user', plain, '--homeserver', hs.baseUrl, '--password-stdin', '--json'], {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
    const device = (JSON.parse(r.stdout) as {deviceId: string}).deviceId
    if (hs.kind === 'synapse') expect(refreshTokens(hs.dir, plain, device)).toBe(0)
    const t = await token(name)
    expect(await token(name)).toBe(t)
    expect((await rawWhoami(hs.baseUrl, t)).body).toMatchObject({user_id: plain, device_id: device})
  })
})
