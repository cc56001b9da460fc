import {execFileSync} from 'node:child_process'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type BadHomeserver, json, startBadHomeserver} from '../support/bad-homeserver.js'
import {type CliResult, runCli, tempDir} from '../support/cli.js'
import {CLIENT_ID, DEVICE_AUTHORIZATION, INVALID_GRANT, METADATA, NO_PASSWORD_FLOWS, PENDING} from '../support/mas.js'
import {service} from '../support/services.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const USER = '@bot:mas.example'
const DEVICE = deriveDeviceId(USER, 'bot')
const DEVICE_CODE = DEVICE_AUTHORIZATION.device_code

/**
 * A homeserver and its MAS on one loopback origin, for what the real stack (oauth-stack.test.ts:
 * Synapse in its MAS mode, oidc-provider standing in for MAS) does not do as MAS does: a pending
 * poll is a 403 (oidc-provider: 400), and a refresh token used again while the pair it was
 * exchanged for is still unused is accepted once more (oidc-provider ends the whole grant).
 */
interface FakeMas {
  hs: BadHomeserver
  live: {access: string; refresh: string} | null
  /** The pair before `live`, whose refresh token MAS still accepts while `live` is unused. */
  previous: {access: string; refresh: string} | null
  liveUsed: boolean
  issued: string[]
  polls: number
}

async function startFakeMas(): Promise<FakeMas> {
  const hs = await startBadHomeserver()
  const mas: FakeMas = {hs, live: null, previous: null, liveUsed: false, issued: [], polls: 0}
  const issue = () => {
    const n = mas.issued.length / 2 + 1
    mas.previous = mas.live
    mas.live = {access: `mat_access${n}_integration_Xq3LmZ8p`, refresh: `mar_refresh${n}_integration_Hs5Jk8Lp`}
    mas.liveUsed = false
    mas.issued.push(mas.live.access, mas.live.refresh)
    // 30 s is inside mxtok's 60 s margin, so every use refreshes.
    return {
      access_token: mas.live.access,
      token_type: 'Bearer',
      expires_in: 30,
      refresh_token: mas.live.refresh,
      scope: `urn:matrix:client:api:* urn:matrix:client:device:${DEVICE}`,
    }
  }
  const endpoints = Object.fromEntries(Object.entries(METADATA).map(([k, v]) => [k, typeof v === 'string' ? v.replace('https://auth.hs.example', hs.url) : v]))
  hs.routes.set('GET /_matrix/client/v3/login', (_, res) => json(res, 200, NO_PASSWORD_FLOWS))
  hs.routes.set('GET /_matrix/client/v1/auth_metadata', (_, res) => json(res, 200, endpoints))
  hs.routes.set('POST /oauth2/registration', (req, res) => json(res, 201, {client_id: '01JQ8RZ3D4Y3N2Q8V6W1K9XG7T', ...JSON.parse(req.body)}))
  hs.routes.set('POST /oauth2/device', (_, res) =>
    json(res, 200, {
      ...DEVICE_AUTHORIZATION,
      verification_uri: `${hs.url}/link`,
      verification_uri_complete: `${hs.url}/link?code=${DEVICE_AUTHORIZATION.user_code}`,
      interval: 1,
    }),
  )
  hs.routes.set('POST /oauth2/token', (req, res) => {
    const form = new URLSearchParams(req.body)
    if (form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:device_code' && form.get('device_code') === DEVICE_CODE) {
      if (mas.polls++ === 0) return json(res, 403, PENDING)
      return json(res, 200, issue())
    }
    const refresh = form.get('refresh_token')
    const graced = mas.previous && !mas.liveUsed && refresh === mas.previous.refresh
    if (form.get('grant_type') === 'refresh_token' && mas.live && (refresh === mas.live.refresh || graced)) {
      if (refresh === mas.live.refresh) mas.liveUsed = true
      return json(res, 200, issue())
    }
    json(res, 400, INVALID_GRANT)
  })
  hs.routes.set('GET /_matrix/client/v3/account/whoami', (req, res) => {
    if (mas.live && req.authorization === `Bearer ${mas.live.access}`) {
      mas.liveUsed = true
      return json(res, 200, {user_id: USER, device_id: DEVICE})
    }
    json(res, 401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Token is not active', soft_logout: false})
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

function keychainItem(): string {
  return execFileSync('secret-tool', ['lookup', 'service', 'mxtok', 'username', `${USER}/${DEVICE}`], {env: {...process.env, ...keyringEnv}, encoding: 'utf8'})
}

describe('next-generation auth against a MAS-shaped server, for what the real stack does not do as MAS does', () => {
  it("create polls through MAS's pending answers, which are HTTP 403", async () => {
    const created = await mxtok(['create', 'bot', '--user', USER, '--homeserver', mas.hs.url])
    expect(created.code, created.stderr).toBe(0)
    expect(mas.polls).toBe(2)
    expect(JSON.parse(keychainItem())).toEqual({
      access_token: 'mat_access1_integration_Xq3LmZ8p',
      refresh_token: 'mar_refresh1_integration_Hs5Jk8Lp',
      expires_at: expect.any(String),
    })
    await mxtok(['revoke', 'bot', '--local-only'])
  })

  it('a refresh whose new pair never reached the store loses nothing: MAS takes the old refresh token once more', async () => {
    expect((await mxtok(['create', 'bot', '--user', USER, '--homeserver', mas.hs.url])).code).toBe(0)
    // A run that refreshed and was killed before its store write: the server issued pair 2, the
    // keychain still holds pair 1.
    const lost = await fetch(`${mas.hs.url}/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: 'mar_refresh1_integration_Hs5Jk8Lp', client_id: CLIENT_ID}),
    })
    expect(lost.status).toBe(200)
    const token = await mxtok(['token', 'bot'])
    expect(token.code, token.stderr).toBe(0)
    expect(token.stdout).toBe('mat_access3_integration_Xq3LmZ8p\n')
    expect(JSON.parse(keychainItem())).toMatchObject({refresh_token: 'mar_refresh3_integration_Hs5Jk8Lp'})
    const verify = await mxtok(['verify', '--json'])
    expect(JSON.parse(verify.stdout)).toEqual([{name: 'bot', status: 'valid', userId: USER, deviceId: DEVICE}])
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
    expect(r.stderr).toBe(
      `mxtok: ${new URL(synapse.baseUrl).host} does not offer next-generation auth (no OAuth 2.0 metadata at /_matrix/client/v1/auth_metadata); create without --oauth to log in with a password\n`,
    )
  })
})
