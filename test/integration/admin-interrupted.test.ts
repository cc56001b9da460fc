// An admin login whose answer never comes: its token, if the server made one, is on no device and
// held by nobody. doctor must say so, when it ends, and what makes a new one.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type BadHomeserver, startBadHomeserver} from '../support/bad-homeserver.js'
import {runCli, tempDir} from '../support/cli.js'
import {keepTokens, writeRegistry} from '../support/seed.js'
import {service} from '../support/services.js'

const keyringEnv = await service('keyringEnv')
const ADMIN = '@boss:hang.example'
const ADMIN_TOKEN = 'syt_admin_token_of_the_hanging_server'
const ADMIN_DEVICE = deriveDeviceId(ADMIN, 'boss')

let hs: BadHomeserver
let configDir: string

beforeAll(async () => {
  hs = await startBadHomeserver()
  configDir = tempDir('mxtok-admin-hang-')
  await writeRegistry(configDir, [
    {name: 'boss', userId: ADMIN, homeserver: hs.url, deviceId: ADMIN_DEVICE, createdAt: '2026-01-01T00:00:00.000Z', store: 'keychain', auth: 'password'},
  ])
  await keepTokens(keyringEnv, new Map([[`${ADMIN}/${ADMIN_DEVICE}`, ADMIN_TOKEN]]))
  // The login request arrives, and no answer ever leaves: the server may have made the token.
  hs.routes.set(`POST /_synapse/admin/v1/users/${encodeURIComponent('@bot:hang.example')}/login`, () => {})
  hs.routes.set('GET /_matrix/client/versions', (_, res) => res.writeHead(200, {'content-type': 'application/json'}).end('{"versions":["v1.11"]}'))
})
afterAll(async () => {
  await hs?.close()
})

const run = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, {env: {...keyringEnv, HOME: configDir, MXTOK_CONFIG_DIR: configDir, ...env}, timeoutMs: 20_000})

describe('an admin login that gets no answer', () => {
  it("is reported by doctor with the token's end and the create that makes a new one, never as a password create on a device", async () => {
    const created = await run(['create', 'bot', '--user', '@bot:hang.example', '--as', 'boss', '--expires', '7d'], {MXTOK_TIMEOUT: '1'})
    expect(created.code).toBe(5)
    expect(hs.seen.some((r) => r.path.endsWith('/login') && r.authorization === `Bearer ${ADMIN_TOKEN}`)).toBe(true)
    const d = await run(['doctor'])
    expect(d.code, d.stderr).toBe(0)
    const warning = d.stdout.split('\n').find((l) => l.startsWith('WARN'))
    expect(warning).toMatch(
      /^WARN admin login of session "bot" was interrupted: a token of @bot:hang\.example on no device may exist that nobody holds; it ends by itself at \d{4}-\d\d-\d\dT[\d:.]+Z, or when @boss:hang\.example logs out everywhere; run "mxtok create bot --user @bot:hang\.example --as boss" for a new one$/,
    )
    expect(d.stdout + d.stderr).not.toContain(ADMIN_TOKEN)
  })
})
