import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {createServer as createHttpsServer} from 'node:https'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type BadHomeserver, json, startBadHomeserver} from '../support/bad-homeserver.js'
import {type CliResult, runCli, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'

const keyringEnv = await service('keyringEnv')
const USER = '@bot:bad.example'
const PASSWORD = 'bad server password'
const TOKEN = 'syt_secret_token_from_the_bad_server'
const DEVICE = deriveDeviceId(USER, 'bot')

let hs: BadHomeserver
let configDir: string

beforeEach(async () => {
  hs = await startBadHomeserver()
  configDir = tempDir('mxtok-bad-')
})
afterEach(async () => {
  await hs.close()
})

async function mxtok(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await runCli(args, {
    env: {...keyringEnv, HOME: configDir, MXTOK_CONFIG_DIR: configDir, MXTOK_PASSWORD: PASSWORD, MXTOK_DEBUG: '1', ...env},
    timeoutMs: 20_000,
  })
  for (const secret of [PASSWORD, TOKEN]) {
    expect(r.stdout).not.toContain(secret)
    expect(r.stderr).not.toContain(secret)
  }
  return r
}

const create = (env: Record<string, string> = {}, url = hs.url) => mxtok(['create', 'bot', '--user', USER, '--homeserver', url], env)

/** The user-facing error: the one line that is not a debug line. */
function errorLine(r: CliResult): string {
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => !l.startsWith('mxtok: debug: ') && !l.startsWith('mxtok: warning: '))
  expect(lines).toHaveLength(1)
  expect(lines[0]).not.toMatch(/<html|\bat .*:\d+:\d+/i)
  return lines[0]
}

function loginAnswers(...answers: Array<(res: Parameters<typeof json>[0]) => void>) {
  let n = 0
  hs.routes.set('POST /_matrix/client/v3/login', (_, res) => answers[Math.min(n++, answers.length - 1)](res))
  hs.routes.set('POST /_matrix/client/v3/logout', (_, res) => json(res, 200, {}))
}

const ok =
  (device = DEVICE, user = USER) =>
  (res: Parameters<typeof json>[0]) =>
    json(res, 200, {user_id: user, access_token: TOKEN, device_id: device})
const logouts = () => hs.seen.filter((r) => r.path === '/_matrix/client/v3/logout').map((r) => r.authorization)
const nothingKept = () => {
  const registry = (() => {
    try {
      return JSON.parse(readFileSync(join(configDir, 'sessions.json'), 'utf8'))
    } catch {
      return {sessions: {}}
    }
  })()
  expect(registry.sessions).toEqual({})
  expect(registry.pending).toBeUndefined()
}

describe('a homeserver that misbehaves', () => {
  it('hands back another device than requested: the token is logged out and create fails with exit 5', async () => {
    loginAnswers(ok('SERVERPICKED'))
    const r = await create()
    expect(r.code).toBe(5)
    expect(errorLine(r)).toBe(
      `mxtok: 127.0.0.1:${new URL(hs.url).port} logged in to device SERVERPICKED instead of the requested ${DEVICE}; the server ignores requested device IDs, so mxtok cannot manage this session (the new token was logged out)`,
    )
    expect(logouts()).toEqual([`Bearer ${TOKEN}`])
    nothingKept()
  })

  it('answers as another user: logged out, exit 5', async () => {
    loginAnswers(ok(DEVICE, '@someone:bad.example'))
    const r = await create()
    expect(r.code).toBe(5)
    expect(errorLine(r)).toMatch(/logged in as @someone:bad.example instead of @bot:bad.example \(the new token was logged out\)$/)
    expect(logouts()).toEqual([`Bearer ${TOKEN}`])
    nothingKept()
  })

  it('answers with a reverse proxy HTML page: one line, no HTML, exit 5', async () => {
    loginAnswers((res) => {
      res.writeHead(502, {'content-type': 'text/html'})
      res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>')
    })
    const r = await create()
    expect(r.code).toBe(5)
    expect(errorLine(r)).toMatch(/answered HTTP 502 with an HTML page, not a Matrix error; the homeserver or a proxy in front of it is failing$/)
    // A proxy's 502 does not say whether the homeserver behind it logged us in: assume it may have.
    expect(r.stderr).toContain(`mxtok: warning: device ${DEVICE} of ${USER} may hold a token nobody has`)
    expect(JSON.parse(readFileSync(join(configDir, 'sessions.json'), 'utf8')).pending).toEqual({
      [`${USER}/${DEVICE}`]: expect.objectContaining({deviceId: DEVICE}),
    })
  })

  it('answers without an access token: exit 5 naming the field', async () => {
    loginAnswers((res) => json(res, 200, {user_id: USER, device_id: DEVICE}))
    const r = await create()
    expect(r.code).toBe(5)
    expect(errorLine(r)).toMatch(/answered without a valid "access_token" field/)
  })

  it('never answers: exit 5 within the configured timeout, and the interrupted login is remembered', async () => {
    hs.routes.set('POST /_matrix/client/v3/login', () => {})
    const r = await create({MXTOK_TIMEOUT: '2'})
    expect(r.code).toBe(5)
    expect(errorLine(r)).toMatch(/did not answer within 2 s; check that the homeserver is up$/)
    const doctor = await mxtok(['doctor', '--json'])
    expect(JSON.parse(doctor.stdout).orphans).toEqual([
      {
        kind: 'login',
        userId: USER,
        deviceId: DEVICE,
        store: 'keychain',
        homeserver: hs.url,
        fixed: false,
        name: 'bot',
        sessionExists: false,
        advice: expect.stringMatching(/^mxtok create bot --user /),
      },
    ])
  })

  it('sends a body larger than the cap: exit 5, not out of memory', async () => {
    loginAnswers((res) => {
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(`{"padding":"${'x'.repeat(3 * 1024 * 1024)}"}`)
    })
    const r = await create()
    expect(r.code).toBe(5)
    expect(errorLine(r)).toMatch(/sent an answer larger than 1024 KiB/)
  })

  it('redirects to another origin: refused, and the other origin never hears from us', async () => {
    const elsewhere = await startBadHomeserver()
    try {
      hs.routes.set('POST /_matrix/client/v3/login', (_, res) => {
        res.writeHead(307, {location: `${elsewhere.url}/_matrix/client/v3/login`})
        res.end()
      })
      const r = await create()
      expect(r.code).toBe(5)
      expect(errorLine(r)).toMatch(/redirected to another origin \(http:\/\/127\.0\.0\.1:\d+\); refusing to send credentials there/)
      expect(elsewhere.seen).toEqual([])
    } finally {
      await elsewhere.close()
    }
  })

  it('rate-limits with Retry-After: mxtok waits and succeeds', async () => {
    loginAnswers((res) => json(res, 429, {errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 1000}, {'retry-after': '1'}), ok())
    const r = await create()
    expect(r.code, r.stderr).toBe(0)
    expect(hs.seen.filter((s) => s.method === 'POST' && s.path.endsWith('/login'))).toHaveLength(3)
    const t = await runCli(['token', 'bot'], {env: {...keyringEnv, MXTOK_CONFIG_DIR: configDir}})
    expect(t.stdout.trim()).toBe(TOKEN)
    await mxtok(['revoke', 'bot', '--local-only'])
  })

  it('rate-limits for an hour: exit 10 with a clear message instead of waiting', async () => {
    loginAnswers((res) => json(res, 429, {errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests'}, {'retry-after': '3600'}))
    const r = await create()
    expect(r.code).toBe(10)
    expect(errorLine(r)).toMatch(/is rate-limiting requests and asks to wait 3600 s, longer than mxtok waits \(180 s\); try again then$/)
  })

  it('claims a token belongs to another device: verify says mismatch, exit 4', async () => {
    loginAnswers(ok())
    expect((await create()).code).toBe(0)
    hs.routes.set('GET /_matrix/client/v3/account/whoami', (_, res) => json(res, 200, {user_id: USER, device_id: 'OTHERDEVICE'}))
    const r = await mxtok(['verify', '--json'])
    expect(r.code).toBe(4)
    expect(JSON.parse(r.stdout)).toEqual([
      {name: 'bot', status: 'mismatch', userId: USER, deviceId: DEVICE, error: 'the token belongs to @bot:bad.example, device OTHERDEVICE'},
    ])
    await mxtok(['revoke', 'bot', '--local-only'])
  })

  it('debug output names each request but never the token or the password', async () => {
    loginAnswers(ok())
    const r = await create()
    expect(r.code, r.stderr).toBe(0)
    const debug = r.stderr.split('\n').filter((l) => l.startsWith('mxtok: debug: '))
    // What the server says it runs is asked beside the login types, so its line may come anywhere among theirs.
    const software = debug.filter((l) => l.includes('/_matrix/federation/v1/version'))
    expect(software).toEqual([expect.stringMatching(/^mxtok: debug: GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/federation\/v1\/version 404 \d+ms$/)])
    expect(debug.filter((l) => !software.includes(l))).toEqual([
      // The login types, to choose between a password and next-generation auth: this server does
      // not say, nor does it publish auth metadata, so a password it is.
      expect.stringMatching(/^mxtok: debug: GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/v3\/login 404 \d+ms$/),
      expect.stringMatching(/^mxtok: debug: GET http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/v1\/auth_metadata 404 \d+ms$/),
      expect.stringMatching(/^mxtok: debug: POST http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/v3\/login 200 \d+ms$/),
      expect.stringMatching(/^mxtok: debug: POST http:\/\/127\.0\.0\.1:\d+\/_matrix\/client\/v3\/logout 200 \d+ms$/),
      expect.stringMatching(/\/login 200 \d+ms$/),
    ])
    await mxtok(['revoke', 'bot', '--local-only'])
  })
})

describe('transport rules', () => {
  it('refuses plain http to a host that is not loopback, before any request', async () => {
    const r = await mxtok(['create', 'bot', '--user', USER, '--homeserver', 'http://192.0.2.1:8008'])
    expect(r.code).toBe(2)
    expect(errorLine(r)).toMatch(/refusing plain http:\/\/ to 192\.0\.2\.1:8008, which is not on this machine: .* use https:\/\/, or pass --allow-http .*$/)
  })

  it('says clearly when the TLS certificate is not trusted', async () => {
    const dir = tempDir('mxtok-tls-')
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'],
      {stdio: 'ignore'},
    )
    const server = createHttpsServer({key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem'))}, (_, res) => res.end('{}'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const r = await create({}, `https://127.0.0.1:${(server.address() as AddressInfo).port}`)
      expect(r.code).toBe(5)
      expect(errorLine(r)).toMatch(/TLS failed for 127\.0\.0\.1:\d+ \(DEPTH_ZERO_SELF_SIGNED_CERT\); the server's certificate is not trusted/)
    } finally {
      server.closeAllConnections()
      server.close()
    }
  })
})
