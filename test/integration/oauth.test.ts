import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, inject, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {json, startBadHomeserver, type BadHomeserver} from '../support/bad-homeserver.js'
import {runCli, tempDir, type CliResult} from '../support/cli.js'
import {DEVICE_AUTHORIZATION, METADATA, NO_PASSWORD_FLOWS, PENDING} from '../support/mas.js'

const synapse = inject('synapse')
const keyringEnv = inject('keyringEnv')
const USER = '@bot:mas.example'
const DEVICE = deriveDeviceId(USER, 'bot')
const DEVICE_CODE = DEVICE_AUTHORIZATION.device_code

/**
 * A homeserver and its MAS on one loopback origin, speaking as MAS does: a pending poll is a 403,
 * every refresh rotates both tokens and kills the previous access token, and a refresh token used
 * twice is refused.
 */
interface FakeMas {
  hs: BadHomeserver
  live: {access: string; refresh: string} | null
  /** Access token lifetime in seconds: 30 is inside mxtok's 60 s margin, so every use refreshes. */
  ttl: number
  /** The live access token has expired on the server's side: whoami answers as Synapse behind MAS does. */
  expired: boolean
  issued: string[]
  refreshes: number
  revoked: string[]
}

async function startFakeMas(): Promise<FakeMas> {
  const hs = await startBadHomeserver()
  const mas: FakeMas = {hs, live: null, ttl: 30, expired: false, issued: [], refreshes: 0, revoked: []}
  const issue = () => {
    const n = mas.issued.length / 2 + 1
    mas.live = {access: `mat_access${n}_integration_Xq3LmZ8p`, refresh: `mar_refresh${n}_integration_Hs5Jk8Lp`}
    mas.expired = false
    mas.issued.push(mas.live.access, mas.live.refresh)
    return {access_token: mas.live.access, token_type: 'Bearer', expires_in: mas.ttl, refresh_token: mas.live.refresh, scope: `urn:matrix:client:api:* urn:matrix:client:device:${DEVICE}`}
  }
  const endpoints = Object.fromEntries(Object.entries(METADATA).map(([k, v]) => [k, typeof v === 'string' ? v.replace('https://auth.hs.example', hs.url) : v]))
  let polls = 0
  hs.routes.set('GET /_matrix/client/v3/login', (_, res) => json(res, 200, NO_PASSWORD_FLOWS))
  hs.routes.set('GET /_matrix/client/v1/auth_metadata', (_, res) => json(res, 200, endpoints))
  hs.routes.set('POST /oauth2/registration', (req, res) => json(res, 201, {client_id: '01JQ8RZ3D4Y3N2Q8V6W1K9XG7T', ...JSON.parse(req.body)}))
  hs.routes.set('POST /oauth2/device', (_, res) => json(res, 200, {...DEVICE_AUTHORIZATION, verification_uri: `${hs.url}/link`, verification_uri_complete: `${hs.url}/link?code=${DEVICE_AUTHORIZATION.user_code}`, interval: 1}))
  hs.routes.set('POST /oauth2/token', (req, res) => {
    const form = new URLSearchParams(req.body)
    if (form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:device_code' && form.get('device_code') === DEVICE_CODE) {
      return polls++ === 0 ? json(res, 403, PENDING) : json(res, 200, issue())
    }
    if (form.get('grant_type') === 'refresh_token' && mas.live && form.get('refresh_token') === mas.live.refresh) {
      mas.refreshes++
      return json(res, 200, issue())
    }
    json(res, 400, {error: 'invalid_grant', error_description: 'The provided access grant is invalid, expired, or revoked.'})
  })
  hs.routes.set('GET /_matrix/client/v3/account/whoami', (req, res) => {
    if (mas.live && !mas.expired && req.authorization === `Bearer ${mas.live.access}`) return json(res, 200, {user_id: USER, device_id: DEVICE})
    json(res, 401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Token is not active', soft_logout: false})
  })
  hs.routes.set('POST /oauth2/revoke', (req, res) => {
    const token = new URLSearchParams(req.body).get('token')!
    mas.revoked.push(token)
    if (mas.live && (token === mas.live.access || token === mas.live.refresh)) mas.live = null
    res.writeHead(200)
    res.end()
  })
  return mas
}

let mas: FakeMas
let configDir: string

beforeEach(async () => {
  mas = await startFakeMas()
  configDir = tempDir('mxtok-oauth-')
})
afterEach(async () => {
  await mas.hs.close()
})

/** Runs mxtok; nothing but `mxtok token`'s stdout may carry a token, and nothing at all the device code or a refresh token. */
async function mxtok(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const r = await runCli(args, {env: {...keyringEnv, HOME: configDir, MXTOK_CONFIG_DIR: configDir, ...env}, timeoutMs: 20_000})
  const refreshes = mas.issued.filter((t) => t.startsWith('mar_'))
  for (const secret of [DEVICE_CODE, ...refreshes]) {
    expect(r.stdout).not.toContain(secret)
    expect(r.stderr).not.toContain(secret)
  }
  for (const access of mas.issued.filter((t) => t.startsWith('mat_'))) {
    expect(r.stderr).not.toContain(access)
    if (args[0] !== 'token') expect(r.stdout).not.toContain(access)
  }
  return r
}

const registry = () => JSON.parse(readFileSync(join(configDir, 'sessions.json'), 'utf8'))

function keychainItem(): string {
  return execFileSync('secret-tool', ['lookup', 'service', 'mxtok', 'username', `${USER}/${DEVICE}`], {env: {...process.env, ...keyringEnv}, encoding: 'utf8'})
}

describe('next-generation auth against a MAS-shaped server, through the CLI and the real keychain', () => {
  it('create shows the code, keeps the pair; token and verify refresh it; two runs at once refresh once; revoke revokes both', async () => {
    const created = await mxtok(['create', 'bot', '--user', USER, '--homeserver', mas.hs.url])
    expect(created.code, created.stderr).toBe(0)
    expect(created.stderr).toContain(`To sign in as ${USER}, open ${mas.hs.url}/link?code=${DEVICE_AUTHORIZATION.user_code}`)
    expect(created.stderr).toContain(`(or open ${mas.hs.url}/link and enter the code ${DEVICE_AUTHORIZATION.user_code})`)
    expect(created.stdout).toContain('Created session "bot"')
    expect(registry().sessions.bot).toMatchObject({deviceId: DEVICE, auth: 'oauth', oauth: {tokenEndpoint: `${mas.hs.url}/oauth2/token`, revocationEndpoint: `${mas.hs.url}/oauth2/revoke`}})
    expect(JSON.parse(keychainItem())).toEqual({access_token: 'mat_access1_integration_Xq3LmZ8p', refresh_token: 'mar_refresh1_integration_Hs5Jk8Lp', expires_at: expect.any(String)})

    // 30 s left is inside the 60 s margin: the token is refreshed before it is printed.
    const token = await mxtok(['token', 'bot'])
    expect(token.code, token.stderr).toBe(0)
    expect(token.stdout).toBe('mat_access2_integration_Xq3LmZ8p\n')
    expect(JSON.parse(keychainItem())).toMatchObject({access_token: 'mat_access2_integration_Xq3LmZ8p', refresh_token: 'mar_refresh2_integration_Hs5Jk8Lp'})

    // Two runs at once, both finding the pair about to expire: the registry lock lets one refresh,
    // and the other finds the new pair instead of rotating it under the first one's feet.
    mas.ttl = 3600
    const [a, b] = await Promise.all([mxtok(['token', 'bot']), mxtok(['token', 'bot'])])
    expect([a.code, b.code]).toEqual([0, 0])
    expect([a.stdout, b.stdout]).toEqual(['mat_access3_integration_Xq3LmZ8p\n', 'mat_access3_integration_Xq3LmZ8p\n'])
    expect(mas.refreshes).toBe(2)

    // Expired on the server's side before its time: whoami says M_UNKNOWN_TOKEN, and verify refreshes once.
    mas.expired = true
    const verify = await mxtok(['verify', '--json'])
    expect(verify.code, verify.stderr).toBe(0)
    expect(JSON.parse(verify.stdout)).toEqual([{name: 'bot', status: 'valid', userId: USER, deviceId: DEVICE}])
    expect(mas.refreshes).toBe(3)

    const revoke = await mxtok(['revoke', 'bot'])
    expect(revoke.code, revoke.stderr).toBe(0)
    expect(mas.revoked).toEqual(['mar_refresh4_integration_Hs5Jk8Lp', 'mat_access4_integration_Xq3LmZ8p'])
    expect(registry().sessions).toEqual({})
    expect(() => keychainItem()).toThrow()
  })

  it('token exits 4 with one line when the sign-in service refuses the refresh token', async () => {
    expect((await mxtok(['create', 'bot', '--user', USER, '--homeserver', mas.hs.url])).code).toBe(0)
    mas.live = null
    const r = await mxtok(['token', 'bot'])
    expect(r.code).toBe(4)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(`mxtok: the sign-in service of 127.0.0.1:${new URL(mas.hs.url).port} no longer accepts the refresh token of session "bot" (invalid_grant): the session was ended there; create it again\n`)
    await mxtok(['revoke', 'bot', '--local-only'])
  })
})

describe('next-generation auth against the real Synapse', () => {
  it('is not used: Synapse offers password logins, and create --oauth is refused before anything exists', async () => {
    const probe = await fetch(`${synapse.baseUrl}/_matrix/client/v1/auth_metadata`)
    expect(probe.status).toBe(404)
    expect(await probe.json()).toEqual({errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
    const r = await mxtok(['create', 'bot', '--user', `@nobody:${synapse.serverName}`, '--homeserver', synapse.baseUrl, '--oauth'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`mxtok: ${new URL(synapse.baseUrl).host} does not offer next-generation auth (no OAuth 2.0 metadata at /_matrix/client/v1/auth_metadata); create without --oauth to log in with a password\n`)
  })
})
