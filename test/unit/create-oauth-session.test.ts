import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {DeviceCodePrompt} from '../../src/core/create-oauth-session.js'
import {type CreateOptions, createSession} from '../../src/core/create-session.js'
import {MxtokError} from '../../src/errors.js'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {MatrixError} from '../../src/matrix/errors.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {
  AUTH,
  CLIENT_ID,
  DENIED,
  DEVICE_AUTHORIZATION,
  DEVICE_CODE,
  EXPIRED,
  HS,
  ISSUER,
  METADATA,
  NO_PASSWORD_FLOWS,
  PENDING,
  registrationReply,
  SLOW_DOWN,
  seedOAuthSession,
  tokenReply,
  USER_CODE,
} from '../support/mas.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const USER = '@bot:hs.example'
const DEVICE = deriveDeviceId(USER, 'bot')
const ACCOUNT = secretAccount(USER, DEVICE)
const SCOPE = `urn:matrix:client:api:* urn:matrix:client:device:${DEVICE}`
const START = Date.parse('2026-01-02T03:04:05.000Z')

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

/** Unit deps whose clock moves only when the poll loop sleeps, and records each wait. */
function clocked(): UnitDeps {
  const deps = unitDeps()
  let now = START
  deps.now = () => new Date(now)
  deps.sleeps.length = 0
  sleep = async (ms: number) => {
    deps.sleeps.push(ms)
    now += ms
  }
  return deps
}

let sleep: (ms: number) => Promise<void>
const prompts: DeviceCodePrompt[] = []

function create(deps: UnitDeps, extra: Partial<CreateOptions> = {}) {
  prompts.length = 0
  return createSession(
    {
      name: 'bot',
      user: USER,
      homeserver: HS,
      password: async () => expect.unreachable('an OAuth login must not ask for a password'),
      showCode: (p) => void prompts.push(p),
      sleep,
      ...extra,
    },
    deps,
  )
}

/** The homeserver side: login types without a password, then MAS's metadata through Synapse. */
const discovery = () => nock(HS).get('/_matrix/client/v3/login').reply(200, NO_PASSWORD_FLOWS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)

/** MSC2966's client metadata: a public native client that uses the device grant and refreshes its tokens. */
const REGISTRATION = {
  client_name: 'mxtok',
  client_uri: 'https://www.npmjs.com/package/mxtok',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  token_endpoint_auth_method: 'none',
  application_type: 'native',
}

/** Registration and device authorization, each matched on its exact body. */
const authorization = (scope = SCOPE) =>
  nock(AUTH)
    .post('/oauth2/registration', REGISTRATION)
    .matchHeader('content-type', 'application/json')
    .reply(201, registrationReply(REGISTRATION))
    .post('/oauth2/device', {client_id: CLIENT_ID, scope})
    .matchHeader('content-type', 'application/x-www-form-urlencoded')
    .reply(200, DEVICE_AUTHORIZATION)

const POLL = {grant_type: 'urn:ietf:params:oauth:grant-type:device_code', device_code: DEVICE_CODE, client_id: CLIENT_ID}

/** No secret the user is not meant to see may appear in what create says. */
function expectNoSecrets(deps: UnitDeps, err?: unknown) {
  const said = [...deps.warnings, err instanceof Error ? err.message : '', ...prompts.map((p) => JSON.stringify(p))].join('\n')
  for (const secret of [DEVICE_CODE, tokenReply(1, DEVICE).refresh_token, tokenReply(1, DEVICE).access_token]) expect(said).not.toContain(secret)
}

describe('createSession through next-generation auth (OAuth 2.0 device grant)', () => {
  it('discovers OAuth on a server without password login, polls through pending and slow_down, and stores the pair', async () => {
    const deps = clocked()
    const hs = discovery()
    const auth = authorization()
    const polls = nock(AUTH)
      .post('/oauth2/token', POLL)
      .matchHeader('content-type', 'application/x-www-form-urlencoded')
      .reply(403, PENDING)
      .post('/oauth2/token', POLL)
      .reply(403, SLOW_DOWN)
      .post('/oauth2/token', POLL)
      .reply(403, PENDING)
      .post('/oauth2/token', POLL)
      .reply(200, tokenReply(1, DEVICE))
    const whoami = nock(HS)
      .get('/_matrix/client/v3/account/whoami')
      .matchHeader('authorization', `Bearer ${tokenReply(1, DEVICE).access_token}`)
      .reply(200, {user_id: USER, device_id: DEVICE})

    const session = await create(deps)

    for (const scope of [hs, auth, polls, whoami]) scope.done()
    // 5 s at first; slow_down adds 5 s for this and every later poll.
    expect(deps.sleeps).toEqual([5000, 5000, 10_000, 10_000])
    expect(prompts).toEqual([
      {userId: USER, userCode: USER_CODE, verificationUri: `${AUTH}/link`, verificationUriComplete: `${AUTH}/link?code=${USER_CODE}`, expiresInS: 1200},
    ])
    const createdAt = new Date(START + 30_000).toISOString()
    expect(session).toEqual({
      name: 'bot',
      userId: USER,
      homeserver: HS,
      deviceId: DEVICE,
      createdAt,
      store: 'keychain',
      auth: 'oauth',
      oauth: {issuer: ISSUER, clientId: CLIENT_ID, tokenEndpoint: `${AUTH}/oauth2/token`, revocationEndpoint: `${AUTH}/oauth2/revoke`},
    })
    expect(await deps.registry.list()).toEqual([session])
    expect(await deps.registry.pending()).toEqual([])
    // One write of one JSON object: the pair can never be torn apart.
    expect(deps.memory.writes).toEqual([ACCOUNT])
    expect(JSON.parse(deps.memory.items.get(ACCOUNT)!)).toEqual({
      access_token: tokenReply(1, DEVICE).access_token,
      refresh_token: tokenReply(1, DEVICE).refresh_token,
      expires_at: new Date(START + 30_000 + 300_000).toISOString(),
    })
    expectNoSecrets(deps)
  })

  it('goes the OAuth way with --oauth even where passwords are accepted, without asking for the login types', async () => {
    const deps = clocked()
    const hs = nock(HS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    authorization()
    nock(AUTH).post('/oauth2/token', POLL).reply(200, tokenReply(1, DEVICE))
    nock(HS).get('/_matrix/client/v3/account/whoami').reply(200, {user_id: USER, device_id: DEVICE})
    const session = await create(deps, {oauth: true})
    hs.done()
    expect(nock.pendingMocks()).toEqual([])
    expect(session.auth).toBe('oauth')
  })

  it('asks for the admin API of MAS too with --admin, and records the grant as an admin one', async () => {
    const deps = clocked()
    nock(HS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    const auth = authorization(`urn:mas:admin ${SCOPE}`)
    nock(AUTH).post('/oauth2/token', POLL).reply(200, tokenReply(1, DEVICE))
    nock(HS).get('/_matrix/client/v3/account/whoami').reply(200, {user_id: USER, device_id: DEVICE})
    const session = await create(deps, {oauth: true, admin: true})
    auth.done()
    expect(session).toMatchObject({auth: 'oauth', oauth: {admin: true}})
    expect(await deps.registry.list()).toEqual([session])
  })

  it('logs in with the password as before when the server has no OAuth metadata (Synapse answers 404 M_UNRECOGNIZED)', async () => {
    const deps = clocked()
    nock(HS)
      .get('/_matrix/client/v3/login')
      .reply(200, {flows: [{type: 'm.login.sso'}]})
      .get('/_matrix/client/v1/auth_metadata')
      .reply(404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
      .post('/_matrix/client/v3/login')
      .reply(403, {errcode: 'M_FORBIDDEN', error: 'Invalid username or password'})
    let asked = false
    const err = await create(deps, {password: async () => ((asked = true), 'pw')}).catch((e: unknown) => e)
    expect(asked).toBe(true)
    expect(err).toMatchObject({kind: 'loginRefused'})
    expect(nock.pendingMocks()).toEqual([])
  })

  it('asks for the metadata when GET /login answers 404 M_UNRECOGNIZED, and logs in with the password when there is none either', async () => {
    const deps = clocked()
    nock(HS)
      .get('/_matrix/client/v3/login')
      .reply(404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
      .get('/_matrix/client/v1/auth_metadata')
      .reply(404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
      .post('/_matrix/client/v3/login')
      .reply(403, {errcode: 'M_FORBIDDEN', error: 'Invalid username or password'})
    const err = await create(deps, {password: async () => 'pw'}).catch((e: unknown) => e)
    expect(err).toMatchObject({kind: 'loginRefused'})
    expect(nock.pendingMocks()).toEqual([])
  })

  it('refuses --oauth on a server without next-generation auth, before anything exists', async () => {
    const deps = clocked()
    nock(HS).get('/_matrix/client/v1/auth_metadata').reply(404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
    const err = await create(deps, {oauth: true}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MxtokError)
    expect(err).toMatchObject({
      kind: 'usage',
      message:
        'hs.example does not offer next-generation auth (no OAuth 2.0 metadata at /_matrix/client/v1/auth_metadata); create without --oauth to log in with a password',
    })
    expect(await deps.registry.pending()).toEqual([])
  })

  it('ends with exit 3 when the code expires (expired_token), and leaves nothing behind', async () => {
    const deps = clocked()
    discovery()
    authorization()
    nock(AUTH).post('/oauth2/token', POLL).reply(403, PENDING).post('/oauth2/token', POLL).reply(403, EXPIRED)
    const err = await create(deps).catch((e: unknown) => e)
    expect(err).toMatchObject({
      kind: 'loginRefused',
      exitCode: 3,
      message: `the code ${USER_CODE} expired before the sign-in was approved; run create again and approve it within 20 minutes`,
    })
    expect(await deps.registry.pending()).toEqual([])
    expect(await deps.registry.list()).toEqual([])
    expect(deps.warnings).toEqual([])
    expectNoSecrets(deps, err)
  })

  it('ends with exit 3 when the user refuses (access_denied)', async () => {
    const deps = clocked()
    discovery()
    authorization()
    nock(AUTH).post('/oauth2/token', POLL).reply(403, DENIED)
    const err = await create(deps).catch((e: unknown) => e)
    expect(err).toMatchObject({
      kind: 'loginRefused',
      exitCode: 3,
      message: `the sign-in of ${USER} was refused at auth.hs.example; nothing was created — run create again to retry`,
    })
    expect(await deps.registry.pending()).toEqual([])
    expectNoSecrets(deps, err)
  })

  it('stops polling by itself once expires_in has passed, even if the server keeps saying pending', async () => {
    const deps = clocked()
    discovery()
    nock(AUTH)
      .post('/oauth2/registration')
      .reply(201, registrationReply(REGISTRATION))
      .post('/oauth2/device')
      .reply(200, {...DEVICE_AUTHORIZATION, expires_in: 5, interval: 2})
    const polls = nock(AUTH).post('/oauth2/token').times(2).reply(403, PENDING)
    const err = await create(deps).catch((e: unknown) => e)
    polls.done()
    // The server's interval, not the default of 5 s; the third wait ends past expires_in.
    expect(deps.sleeps).toEqual([2000, 2000, 2000])
    expect(err).toMatchObject({kind: 'loginRefused', message: expect.stringMatching(/^the code QW7ZKP expired before the sign-in was approved/)})
  })

  it('revokes both new tokens and fails when the session is not on the requested device', async () => {
    const deps = clocked()
    discovery()
    authorization()
    const tokens = tokenReply(1, DEVICE)
    nock(AUTH).post('/oauth2/token', POLL).reply(200, tokens)
    nock(HS).get('/_matrix/client/v3/account/whoami').reply(200, {user_id: USER, device_id: 'SERVERCHOSE'})
    const revoke = nock(AUTH)
      .post('/oauth2/revoke', {token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: CLIENT_ID})
      .reply(200)
      .post('/oauth2/revoke', {token: tokens.access_token, token_type_hint: 'access_token', client_id: CLIENT_ID})
      .reply(200)
    const err = await create(deps).catch((e: unknown) => e)
    revoke.done()
    expect(err).toBeInstanceOf(MatrixError)
    expect((err as Error).message).toBe(
      `hs.example gave the session device SERVERCHOSE instead of the requested ${DEVICE}, so mxtok cannot manage it (the new session was revoked)`,
    )
    expect(deps.memory.items.size).toBe(0)
    expect(await deps.registry.list()).toEqual([])
    expect(await deps.registry.pending()).toEqual([])
    expectNoSecrets(deps, err)
  })

  it('revokes the new session, exit 3, when the browser signed in as someone else', async () => {
    const deps = clocked()
    discovery()
    authorization()
    nock(AUTH).post('/oauth2/token', POLL).reply(200, tokenReply(1, DEVICE))
    nock(HS).get('/_matrix/client/v3/account/whoami').reply(200, {user_id: '@alice:hs.example', device_id: DEVICE})
    const revoke = nock(AUTH).post('/oauth2/revoke').times(2).reply(200)
    const err = await create(deps).catch((e: unknown) => e)
    revoke.done()
    expect(err).toMatchObject({
      kind: 'loginRefused',
      message: `the browser signed in as @alice:hs.example, not ${USER}; the new session was revoked — run create again and sign in as ${USER}, or give --user @alice:hs.example`,
    })
    expect(deps.memory.items.size).toBe(0)
  })

  it('keeps the journal entry, with what doctor needs to revoke, when a poll gets no answer', async () => {
    const deps = clocked()
    discovery()
    authorization()
    nock(AUTH)
      .post('/oauth2/token')
      .replyWithError(Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'}))
    const err = await create(deps).catch((e: unknown) => e)
    expect(err).toMatchObject({errcode: 'mxtok.unreachable'})
    expect(await deps.registry.pending()).toEqual([
      {
        userId: USER,
        deviceId: DEVICE,
        homeserver: HS,
        store: 'keychain',
        since: new Date(START).toISOString(),
        // Its lease: the device grant's life, four requests and a minute.
        by: 'tester@unit-host',
        pid: process.pid,
        until: '2026-01-02T03:25:13.000Z',
        auth: 'oauth',
        oauth: {issuer: ISSUER, clientId: CLIENT_ID, tokenEndpoint: `${AUTH}/oauth2/token`, revocationEndpoint: `${AUTH}/oauth2/revoke`},
      },
    ])
    expect(deps.warnings).toEqual([
      `device ${DEVICE} of ${USER} may hold a session nobody has; "mxtok doctor" lists it, and your account's list of sessions can end it`,
    ])
  })

  it('revokes the session it replaces on the same device: MAS keeps both alive otherwise', async () => {
    const deps = clocked()
    await seedOAuthSession(deps, {userId: USER, deviceId: DEVICE, access: 'mat_old_access', refresh: 'mar_old_refresh', expiresAt: null})
    discovery()
    authorization()
    nock(AUTH).post('/oauth2/token', POLL).reply(200, tokenReply(2, DEVICE))
    nock(HS).get('/_matrix/client/v3/account/whoami').reply(200, {user_id: USER, device_id: DEVICE})
    const revokeOld = nock(AUTH)
      .post('/oauth2/revoke', {token: 'mar_old_refresh', token_type_hint: 'refresh_token', client_id: CLIENT_ID})
      .reply(200)
      .post('/oauth2/revoke', {token: 'mat_old_access', token_type_hint: 'access_token', client_id: CLIENT_ID})
      .reply(200)
    await create(deps)
    revokeOld.done()
    expect(JSON.parse(deps.memory.items.get(ACCOUNT)!).access_token).toBe(tokenReply(2, DEVICE).access_token)
    expect(deps.warnings).toEqual([])
  })

  it('says what is missing when the sign-in service offers no device authorization grant', async () => {
    const deps = clocked()
    const {device_authorization_endpoint: _, ...withoutDeviceGrant} = METADATA
    nock(HS).get('/_matrix/client/v3/login').reply(200, NO_PASSWORD_FLOWS).get('/_matrix/client/v1/auth_metadata').reply(200, withoutDeviceGrant)
    const err = await create(deps).catch((e: unknown) => e)
    expect(err).toMatchObject({
      kind: 'homeserver',
      message:
        'hs.example offers no password login, and its sign-in service auth.hs.example no device authorization grant with client registration, which mxtok needs; ask its admin to enable them, or to allow password logins',
    })
  })

  it('refuses metadata that would send refresh tokens over plain http', async () => {
    const deps = clocked()
    nock(HS)
      .get('/_matrix/client/v3/login')
      .reply(200, NO_PASSWORD_FLOWS)
      .get('/_matrix/client/v1/auth_metadata')
      .reply(200, {...METADATA, token_endpoint: 'http://auth.hs.example/oauth2/token'})
    await expect(create(deps)).rejects.toMatchObject({
      kind: 'usage',
      message:
        'refusing plain http:// to auth.hs.example, which is not on this machine: the token or password would travel unencrypted; use https://, or pass --allow-http (MXTOK_ALLOW_HTTP=1 for a command without it) if this server really has no TLS',
    })
  })

  it('refuses a --device-id too short for a device scope before registering anything', async () => {
    const deps = clocked()
    discovery()
    await expect(create(deps, {deviceId: 'SHORT'})).rejects.toMatchObject({
      kind: 'usage',
      message: '--device-id "SHORT" is too short for a sign-in through auth.hs.example: use at least 10 characters',
    })
  })
})
