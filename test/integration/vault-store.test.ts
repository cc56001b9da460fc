// The vault store against a real OpenBao dev server and the real Synapse: what a session leaves in
// OpenBao (read back with plain HTTP, as a bot or an admin would, not through mxtok), moves in and
// out, and revoke leaving no version behind.
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type CliResult, runCli, tempDir} from '../support/cli.js'
import {type BaoAnswer, baoAdmin, baoApi, type OpenbaoDevServer, startOpenbaoDev} from '../support/openbao.js'
import {service} from '../support/services.js'
import {rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const PASSWORD = 'vault store test password'
const PASSPHRASE = 'a passphrase for the file store'

let bao: OpenbaoDevServer
let userId: string
let configDir: string
const secrets = new Set([PASSWORD, PASSPHRASE])

beforeAll(async () => {
  bao = await startOpenbaoDev()
  secrets.add(bao.rootToken)
  userId = await registerUser(synapse, `vaultstore${process.pid}`, PASSWORD)
  configDir = tempDir('mxtok-vault-store-')
})

afterAll(async () => {
  await bao?.stop()
})

async function mxtok(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  const r = await runCli(args, {
    env: {
      HOME: configDir,
      MXTOK_CONFIG_DIR: configDir,
      MXTOK_PASSWORD: PASSWORD,
      MXTOK_PASSPHRASE: PASSPHRASE,
      BAO_ADDR: bao.address,
      BAO_TOKEN: bao.rootToken,
      MXTOK_VAULT: 'secret/mxtok',
      ...env,
    },
  })
  for (const s of secrets) {
    if (args[0] !== 'token') expect(r.stdout).not.toContain(s)
    expect(r.stderr).not.toContain(s)
  }
  return r
}

/** The API path of a session's secret, as a bot's template names it (data) or an admin lists its versions (metadata). */
const apiPath = (kind: 'data' | 'metadata', name: string) => `secret/${kind}/mxtok/sessions/${encodeURIComponent(userId)}/${deriveDeviceId(userId, name)}`
const raw = (kind: 'data' | 'metadata', name: string): Promise<BaoAnswer> => baoApi(bao.address, bao.rootToken, 'GET', apiPath(kind, name))
const registry = async () => readFileSync(join(configDir, 'sessions.json'), 'utf8')

describe('sessions kept in OpenBao', () => {
  it('create --store vault writes the fields a bot reads; token and verify use them; move out and back; revoke leaves no version', async () => {
    const c = await mxtok(['create', 'vaultbot', '--user', userId, '--homeserver', synapse.baseUrl, '--store', 'vault'])
    expect(c.code, c.stderr).toBe(0)
    const t = await mxtok(['token', 'vaultbot'])
    expect(t.code, t.stderr).toBe(0)
    const token = t.stdout.trim()
    secrets.add(token)
    expect(JSON.parse(await registry()).sessions.vaultbot.store).toBe('vault')
    expect(await registry()).not.toContain(token)

    const read = await raw('data', 'vaultbot')
    expect(read.status).toBe(200)
    const data = read.body?.data as {data: Record<string, string>; metadata: {version: number}}
    expect(data.data).toEqual({
      access_token: token,
      user_id: userId,
      device_id: deriveDeviceId(userId, 'vaultbot'),
      homeserver: synapse.baseUrl,
      mxtok_layout: '1',
    })
    expect(data.metadata.version).toBe(1)
    expect((await rawWhoami(synapse.baseUrl, data.data.access_token)).status).toBe(200)

    const v = await mxtok(['verify', 'vaultbot', '--json'])
    expect(v.code, v.stderr).toBe(0)
    expect(JSON.parse(v.stdout)[0].status).toBe('valid')

    const d = await mxtok(['doctor', '--json'], {MXTOK_STORE: 'vault'})
    expect(d.code, d.stdout).toBe(0)
    expect(JSON.parse(d.stdout).stores).toContainEqual(expect.objectContaining({store: 'vault', ok: true, configured: true, sessions: 1}))

    const toFile = await mxtok(['move', 'vaultbot', '--to', 'file'])
    expect(toFile.code, toFile.stderr).toBe(0)
    expect((await raw('metadata', 'vaultbot')).status).toBe(404)
    expect((await mxtok(['token', 'vaultbot'])).stdout.trim()).toBe(token)

    const back = await mxtok(['move', 'vaultbot', '--to', 'vault'])
    expect(back.code, back.stderr).toBe(0)
    const again = (await raw('data', 'vaultbot')).body?.data as {data: Record<string, string>; metadata: {version: number}}
    // Written anew (check-and-set 0), as one version, with the same fields.
    expect(again).toMatchObject({data: data.data, metadata: {version: 1}})
    expect(JSON.parse(await registry()).sessions.vaultbot.store).toBe('vault')

    const r = await mxtok(['revoke', 'vaultbot'])
    expect(r.code, r.stderr).toBe(0)
    expect((await rawWhoami(synapse.baseUrl, token)).status).toBe(401)
    // Every version and the metadata gone, not a soft delete that keeps the token in the history.
    expect((await raw('metadata', 'vaultbot')).status).toBe(404)
    expect((await raw('data', 'vaultbot')).status).toBe(404)
  })

  it('a token without the capabilities is refused before any login, naming the path and the capability', async () => {
    await baoAdmin(bao.address, bao.rootToken, 'PUT', 'sys/policies/acl/read-only', {policy: 'path "secret/data/mxtok/*" { capabilities = ["read"] }'})
    const made = await baoAdmin(bao.address, bao.rootToken, 'POST', 'auth/token/create', {policies: ['read-only'], ttl: '1h'})
    const readOnly = (made.auth as {client_token: string}).client_token
    secrets.add(readOnly)
    const c = await mxtok(['create', 'refused', '--user', userId, '--homeserver', synapse.baseUrl, '--store', 'vault'], {BAO_TOKEN: readOnly})
    expect(c.code).toBe(9)
    expect(await registry()).not.toContain('refused')
    expect((await raw('metadata', 'refused')).status).toBe(404)
    expect(c.stderr).toMatch(
      /^mxtok: OpenBao\/Vault at 127\.0\.0\.1:\d+ denied create on secret\/data\/mxtok\/sessions\/ \(the token's capabilities there: read\)/,
    )
  })
})
