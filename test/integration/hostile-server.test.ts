// A homeserver whose every string carries what a terminal acts on. Whatever command shows that
// text, on a terminal or through a pipe, the bytes that reach it must be inert; --json keeps the
// exact data, escaped.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type BadHomeserver, json, startBadHomeserver} from '../support/bad-homeserver.js'
import {type CliResult, runCli, tempDir} from '../support/cli.js'
import {keepTokens, writeRegistry} from '../support/seed.js'
import {service} from '../support/services.js'

const keyringEnv = await service('keyringEnv')

// ESC sequences (title, screen clear, a hyperlink ended by BEL), CR and backspace that overwrite,
// a C1 CSI, NEL, a bidi override, a line break that would forge a row.
const H = '\u001b]0;pwned\u0007\u001b[2J\r\b\u009b31m\u0085\u202eevil\nforged\u2066'
const ACTS_ON_TERMINAL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/

const USER = '@bot:hostile.example'
const TOKEN = 'syt_hostile_session_token'
const DEVICE = deriveDeviceId(USER, 'bot')
const IMPORTED = 'syt_token_to_import'

let hs: BadHomeserver
let configDir: string

beforeAll(async () => {
  hs = await startBadHomeserver()
  configDir = tempDir('mxtok-hostile-')
  await writeRegistry(configDir, [
    {name: 'bot', userId: USER, homeserver: hs.url, deviceId: DEVICE, createdAt: '2026-01-01T00:00:00.000Z', store: 'keychain', auth: 'password'},
  ])
  await keepTokens(keyringEnv, new Map([[`${USER}/${DEVICE}`, TOKEN]]))
  const devices = [
    {device_id: DEVICE, display_name: H, last_seen_ip: H, last_seen_ts: 9e15},
    {device_id: `MXTOK${H}`, display_name: H, last_seen_ip: H, last_seen_ts: 1e300},
    {device_id: 'OTHERDEVICE', display_name: H, last_seen_ip: H, last_seen_ts: 1_700_000_000_000},
  ]
  hs.routes.set('GET /_matrix/client/v3/devices', (_, res) => json(res, 200, {devices}))
  hs.routes.set('GET /_matrix/client/v3/account/whoami', (req, res) =>
    req.authorization === `Bearer ${IMPORTED}`
      ? json(res, 200, {user_id: USER, device_id: `DEV${H}`})
      : json(res, 200, {user_id: `@x${H}:hostile.example`, device_id: 'OTHERDEVICE'}),
  )
  hs.routes.set('GET /_matrix/client/versions', (_, res) => json(res, 502, {errcode: 'M_UNKNOWN', error: H}))
  hs.routes.set(`PUT /_matrix/client/v3/devices/${DEVICE}`, (_, res) => json(res, 403, {errcode: 'M_FORBIDDEN', error: H}))
  hs.routes.set('POST /_matrix/client/v3/logout', (_, res) => json(res, 500, {errcode: `M_${H}`, error: H}))
  hs.routes.set('GET /_matrix/client/v3/login', (_, res) => json(res, 200, {flows: [{type: 'm.login.password'}]}))
  hs.routes.set('POST /_matrix/client/v3/login', (_, res) => json(res, 400, {errcode: 'M_BAD_JSON', error: H}))
  hs.routes.set('GET /_matrix/client/v1/auth_metadata', (_, res) => json(res, 404, {errcode: 'M_UNRECOGNIZED', error: H}))
})
afterAll(async () => {
  await hs?.close()
})

const run = (args: string[], input?: string) =>
  runCli(args, {env: {...keyringEnv, HOME: configDir, MXTOK_CONFIG_DIR: configDir, MXTOK_PASSWORD: 'pw', MXTOK_DEBUG: '1'}, input, timeoutMs: 20_000})

function expectInert(r: CliResult) {
  expect(r.stdout, 'stdout carries a terminal control').not.toMatch(ACTS_ON_TERMINAL)
  expect(r.stderr, 'stderr carries a terminal control').not.toMatch(ACTS_ON_TERMINAL)
  expect(r.stdout + r.stderr).not.toContain(TOKEN)
}

describe('a homeserver that sends terminal controls in every string', () => {
  it.each([
    ['list', () => ['list']],
    ['verify', () => ['verify']],
    ['rename', () => ['rename', 'bot', '--device-name', 'x']],
    ['revoke', () => ['revoke', 'bot']],
    ['doctor', () => ['doctor', '--store', 'keychain']],
    ['create', () => ['create', 'new', '--user', USER, '--homeserver', hs.url]],
    ['prune', () => ['prune', '--user', USER, '--homeserver', hs.url, '--orphans', '--dry-run']],
  ])('%s shows its text inert', async (_, args) => {
    const r = await run(args())
    expectInert(r)
    // The text is shown, not dropped: the escape stands where the control was.
    expect(r.stdout + r.stderr).toMatch(/\\x1b|\\u202e|invalid/)
  })

  it('list shows every device row inert and an absurd timestamp as invalid; --json keeps the exact strings', async () => {
    const r = await run(['list'])
    expect(r.code).toBe(0)
    expectInert(r)
    expect(r.stdout).toContain('\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x08\\x9b31m\\x85\\u202eevil\\x0aforged\\u2066')
    expect(r.stdout).toContain('invalid')
    expect(r.stdout.split('\n').filter((l) => l.startsWith('forged'))).toEqual([])
    const j = await run(['list', '--json'])
    expectInert(j)
    const parsed = JSON.parse(j.stdout)
    expect(parsed.sessions[0]).toMatchObject({displayName: H, lastSeenIp: H, lastSeenTs: 9e15})
    expect(parsed.devices.map((d: {deviceId: string}) => d.deviceId)).toContain(`MXTOK${H}`)
  })

  it('create --oauth shows the sign-in address and code inert', async () => {
    const base = hs.url
    hs.routes.set('GET /_matrix/client/v1/auth_metadata', (_, res) =>
      json(res, 200, {
        issuer: `${base}/`,
        token_endpoint: `${base}/token`,
        registration_endpoint: `${base}/register`,
        device_authorization_endpoint: `${base}/device`,
        grant_types_supported: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      }),
    )
    hs.routes.set('POST /register', (_, res) => json(res, 201, {client_id: 'client'}))
    hs.routes.set('POST /device', (_, res) =>
      json(res, 200, {
        device_code: 'dc',
        user_code: H,
        verification_uri: `${base}/v${H}`,
        verification_uri_complete: `${base}/c${H}`,
        expires_in: 60,
        interval: 1,
      }),
    )
    hs.routes.set('POST /token', (_, res) => json(res, 400, {error: 'access_denied', error_description: H}))
    try {
      const r = await run(['create', 'signin', '--user', USER, '--homeserver', hs.url, '--oauth'])
      expectInert(r)
      expect(r.code).toBe(3)
      expect(r.stderr).toContain(`open ${base}/c\\x1b]0;pwned`)
    } finally {
      hs.routes.set('GET /_matrix/client/v1/auth_metadata', (_, res) => json(res, 404, {errcode: 'M_UNRECOGNIZED', error: H}))
    }
  })

  it('verify names the mismatch inert, and exits 4', async () => {
    const r = await run(['verify'])
    expect(r.code).toBe(4)
    expectInert(r)
    expect(r.stdout).toContain('mismatch')
  })

  it('import refuses a device ID outside the grammar and keeps nothing', async () => {
    const r = await run(['import', 'imported', '--token-stdin', '--homeserver', hs.url], `${IMPORTED}\n`)
    expectInert(r)
    expect(r.code).toBe(5)
    expect(r.stderr).toMatch(/without a valid "device_id" field/)
    const list = JSON.parse((await run(['list', '--offline', '--json'])).stdout)
    expect(list.sessions.map((s: {name: string}) => s.name)).toEqual(['bot'])
  })
})
