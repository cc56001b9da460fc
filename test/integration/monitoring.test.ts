// verify --format prometheus, as node_exporter's textfile collector reads it.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type BadHomeserver, json, startBadHomeserver} from '../support/bad-homeserver.js'
import {mxtokRunner, tempDir} from '../support/cli.js'
import {keepTokens, writeRegistry} from '../support/seed.js'
import {service} from '../support/services.js'
import {rawLogout, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'monitoring test password'
const secrets = new Set([PASSWORD])
let userId: string
let configDir: string
const {mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)

/** The samples of the text format: metric, labels and value of each line that is not a comment. */
function samples(text: string) {
  return text
    .trimEnd()
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((line) => {
      const m = /^([a-z_]+)\{name="([^"]*)",user="([^"]*)",homeserver="([^"]*)"\} (\d+)$/.exec(line)
      expect(m, line).not.toBeNull()
      return {metric: m![1], name: m![2], user: m![3], homeserver: m![4], value: Number(m![5])}
    })
}

beforeAll(async () => {
  userId = await registerUser(synapse, `prom${process.pid}`, PASSWORD)
  configDir = tempDir('mxtok-prom-')
})

describe('verify --format prometheus', () => {
  it('one mxtok_session_valid gauge per session, 1 for a working token and 0 for a revoked one', async () => {
    for (const name of ['live', 'dead']) {
      const r = await mxtok(['create', name, '--user', userId, '--homeserver', synapse.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
      expect(r.code, r.stderr).toBe(0)
    }
    const dead = (await mxtok(['token', 'dead'])).stdout.trim()
    secrets.add(dead)
    expect((await rawLogout(synapse.baseUrl, dead)).status).toBe(200)

    const r = await mxtok(['verify', '--format', 'prometheus'])
    // The exit code keeps its meaning: a dead token is 4, whatever the format.
    expect(r.code, r.stderr).toBe(4)
    expect(r.stdout).toMatch(/^# HELP mxtok_session_valid .+\n# TYPE mxtok_session_valid gauge\n/)
    expect(samples(r.stdout)).toEqual([
      {metric: 'mxtok_session_valid', name: 'dead', user: userId, homeserver: synapse.baseUrl, value: 0},
      {metric: 'mxtok_session_valid', name: 'live', user: userId, homeserver: synapse.baseUrl, value: 1},
    ])
    expect(r.stdout).not.toContain('expiry')
  })

  it('cannot be combined with --json', async () => {
    const r = await mxtok(['verify', '--format', 'prometheus', '--json'])
    expect(r.code).toBe(2)
  })
})

describe('the expiry gauge', () => {
  let hs: BadHomeserver
  const USER = '@bot:prom.example'
  const DEVICE = deriveDeviceId(USER, 'oauthbot')
  const ACCESS = 'mat_prometheus_access_token_Xq3LmZ8p'
  const EXPIRES = Date.UTC(2031, 0, 2, 3, 4, 5)

  beforeAll(async () => {
    hs = await startBadHomeserver()
    hs.routes.set('GET /_matrix/client/v3/account/whoami', (req, res) =>
      req.authorization === `Bearer ${ACCESS}`
        ? json(res, 200, {user_id: USER, device_id: DEVICE})
        : json(res, 401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token'}),
    )
    secrets.add(ACCESS)
  })
  afterAll(async () => {
    await hs?.close()
  })

  it('is given for a session whose access token has a known end', async () => {
    const dir = tempDir('mxtok-prom-oauth-')
    await writeRegistry(dir, [
      {
        name: 'oauthbot',
        userId: USER,
        homeserver: hs.url,
        deviceId: DEVICE,
        createdAt: '2026-01-01T00:00:00.000Z',
        store: 'keychain',
        auth: 'oauth',
        oauth: {issuer: `${hs.url}/`, clientId: 'client', tokenEndpoint: `${hs.url}/oauth2/token`},
      },
    ])
    const secret = JSON.stringify({access_token: ACCESS, refresh_token: 'mar_prometheus_refresh_Hs5Jk8Lp', expires_at: new Date(EXPIRES).toISOString()})
    secrets.add('mar_prometheus_refresh_Hs5Jk8Lp')
    await keepTokens(keyringEnv, new Map([[`${USER}/${DEVICE}`, secret]]))
    const r = await mxtok(['verify', '--format', 'prometheus'], {MXTOK_CONFIG_DIR: dir})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('# TYPE mxtok_session_expiry_timestamp_seconds gauge\n')
    expect(samples(r.stdout)).toEqual([
      {metric: 'mxtok_session_valid', name: 'oauthbot', user: USER, homeserver: hs.url, value: 1},
      {metric: 'mxtok_session_expiry_timestamp_seconds', name: 'oauthbot', user: USER, homeserver: hs.url, value: EXPIRES / 1000},
    ])
  })
})
