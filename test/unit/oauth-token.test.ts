import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {doctor} from '../../src/cli/actions/doctor.js'
import {runDoctor} from '../../src/core/doctor.js'
import {execSession} from '../../src/core/exec-session.js'
import {RefreshRefused} from '../../src/core/find-session.js'
import {getToken} from '../../src/core/get-token.js'
import {revokeSession} from '../../src/core/revoke-session.js'
import {verifySessions} from '../../src/core/verify-sessions.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {tempDir} from '../support/cli.js'
import {AUTH, CLIENT_ID, HS, INVALID_GRANT, ISSUER, METADATA, seedOAuthSession, tokenReply} from '../support/mas.js'
import {testIo} from '../support/test-io.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const USER = '@bot:hs.example'
const DEVICE = 'MXTOKAAAAAAAAAA'
const ACCOUNT = secretAccount(USER, DEVICE)
const NOW = Date.parse('2026-01-02T03:04:05.000Z')
const OLD = {access: 'mat_oldAccessToken_1a2B3c', refresh: 'mar_oldRefreshToken_4d5E6f'}
const NEW = tokenReply(2, DEVICE)
const REFRESH = {grant_type: 'refresh_token', refresh_token: OLD.refresh, client_id: CLIENT_ID}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

/** An OAuth session whose access token expires `inMs` after the unit clock's now (null: no known end). */
async function withSession(inMs: number | null): Promise<UnitDeps> {
  const deps = unitDeps()
  await seedOAuthSession(deps, {
    userId: USER,
    deviceId: DEVICE,
    access: OLD.access,
    refresh: OLD.refresh,
    expiresAt: inMs === null ? null : new Date(NOW + inMs).toISOString(),
  })
  deps.memory.writes.length = 0
  return deps
}

const stored = (deps: UnitDeps) => JSON.parse(deps.memory.items.get(ACCOUNT)!)

/** Nothing a person may read carries a refresh token. */
function expectNoRefreshToken(deps: UnitDeps, ...said: unknown[]) {
  const text = [...deps.warnings, ...said.map((s) => (s instanceof Error ? s.message : JSON.stringify(s)))].join('\n')
  for (const secret of [OLD.refresh, NEW.refresh_token]) expect(text).not.toContain(secret)
}

describe('mxtok token with an OAuth session', () => {
  it('prints the stored access token, and nothing else, while it has more than a minute left', async () => {
    const deps = await withSession(61_000)
    expect(await getToken('bot', deps)).toBe(OLD.access)
    expect(deps.memory.writes).toEqual([])
  })

  it('refreshes a token that expires within 60 s and stores the new pair in one write', async () => {
    const deps = await withSession(59_000)
    const scope = nock(AUTH).post('/oauth2/token', REFRESH).matchHeader('content-type', 'application/x-www-form-urlencoded').reply(200, NEW)
    expect(await getToken('bot', deps)).toBe(NEW.access_token)
    scope.done()
    expect(deps.memory.writes).toEqual([ACCOUNT])
    expect(stored(deps)).toEqual({access_token: NEW.access_token, refresh_token: NEW.refresh_token, expires_at: new Date(NOW + 300_000).toISOString()})
  })

  it('keeps the refresh token when the server does not rotate it', async () => {
    const deps = await withSession(-1000)
    nock(AUTH).post('/oauth2/token', REFRESH).reply(200, {access_token: 'mat_onlyAccess', token_type: 'Bearer', expires_in: 300})
    expect(await getToken('bot', deps)).toBe('mat_onlyAccess')
    expect(stored(deps)).toMatchObject({access_token: 'mat_onlyAccess', refresh_token: OLD.refresh})
  })

  it('fails with exit 4, the old pair kept, when the refresh token is refused (invalid_grant)', async () => {
    const deps = await withSession(-1000)
    nock(AUTH).post('/oauth2/token', REFRESH).reply(400, INVALID_GRANT)
    const err = await getToken('bot', deps).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RefreshRefused)
    expect(err).toMatchObject({kind: 'tokenInvalid', exitCode: 4})
    expect((err as Error).message).toBe(
      'the sign-in service of hs.example no longer accepts the refresh token of session "bot" (invalid_grant): the session was ended there; create it again',
    )
    expect(stored(deps)).toMatchObject({access_token: OLD.access, refresh_token: OLD.refresh})
    expectNoRefreshToken(deps, err)
  })

  it('refreshes once for two runs at the same time: the second finds the pair the first stored', async () => {
    const deps = await withSession(-1000)
    // One refresh answer only: a second refresh would find no match and fail.
    const scope = nock(AUTH).post('/oauth2/token', REFRESH).delay(100).reply(200, NEW)
    const [a, b] = await Promise.all([getToken('bot', deps), getToken('bot', deps)])
    scope.done()
    expect([a, b]).toEqual([NEW.access_token, NEW.access_token])
    expect(deps.memory.writes).toEqual([ACCOUNT])
  })

  it('does not store a pair whose write fails, and says so with exit 6', async () => {
    const deps = await withSession(-1000)
    nock(AUTH).post('/oauth2/token', REFRESH).reply(200, NEW)
    deps.memory.failSet = true
    await expect(getToken('bot', deps)).rejects.toMatchObject({kind: 'keychain'})
    expect(stored(deps)).toMatchObject({access_token: OLD.access})
  })
})

describe('mxtok exec with an OAuth session', () => {
  it('hands the command a refreshed token when the stored one is about to expire', async () => {
    const deps = await withSession(10_000)
    nock(AUTH).post('/oauth2/token', REFRESH).reply(200, NEW)
    const out = join(tempDir('mxtok-exec-oauth-'), 'token')
    const script = `require('fs').writeFileSync(${JSON.stringify(out)}, process.env.MATRIX_ACCESS_TOKEN)`
    expect(await execSession({name: 'bot', command: [process.execPath, '-e', script], env: {PATH: process.env.PATH}}, deps)).toBe(0)
    expect(readFileSync(out, 'utf8')).toBe(NEW.access_token)
    expect(stored(deps).refresh_token).toBe(NEW.refresh_token)
  })

  it('runs nothing, exit 4, when the refresh is refused', async () => {
    const deps = await withSession(-1000)
    nock(AUTH).post('/oauth2/token', REFRESH).reply(400, INVALID_GRANT)
    await expect(execSession({name: 'bot', command: ['true'], env: {}}, deps)).rejects.toMatchObject({kind: 'tokenInvalid', exitCode: 4})
  })
})

describe('mxtok verify with an OAuth session', () => {
  it('refreshes an expired token before asking whoami', async () => {
    const deps = await withSession(-1000)
    nock(AUTH).post('/oauth2/token', REFRESH).reply(200, NEW)
    nock(HS).get('/_matrix/client/v3/account/whoami').matchHeader('authorization', `Bearer ${NEW.access_token}`).reply(200, {user_id: USER, device_id: DEVICE})
    const report = await verifySessions([], deps)
    expect(report).toEqual({results: [{name: 'bot', status: 'valid', userId: USER, deviceId: DEVICE}], exitCode: 0})
  })

  it('refreshes once after M_UNKNOWN_TOKEN, which Synapse behind MAS sends without soft_logout', async () => {
    const deps = await withSession(200_000)
    const hs = nock(HS)
      .get('/_matrix/client/v3/account/whoami')
      .matchHeader('authorization', `Bearer ${OLD.access}`)
      .reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Token is not active', soft_logout: false})
      .get('/_matrix/client/v3/account/whoami')
      .matchHeader('authorization', `Bearer ${NEW.access_token}`)
      .reply(200, {user_id: USER, device_id: DEVICE})
    nock(AUTH).post('/oauth2/token', REFRESH).reply(200, NEW)
    const report = await verifySessions(['bot'], deps)
    hs.done()
    expect(report.results[0].status).toBe('valid')
    expect(stored(deps).access_token).toBe(NEW.access_token)
  })

  it('reports the session revoked, exit 4, when the refresh is refused', async () => {
    const deps = await withSession(-1000)
    nock(AUTH).post('/oauth2/token', REFRESH).reply(400, INVALID_GRANT)
    const report = await verifySessions(['bot'], deps)
    expect(report.exitCode).toBe(4)
    expect(report.results).toEqual([
      {name: 'bot', status: 'revoked', userId: USER, deviceId: DEVICE, error: expect.stringContaining('no longer accepts the refresh token')},
    ])
    expectNoRefreshToken(deps, report)
  })

  it('reports unreachable, exit 5, when the token endpoint cannot be reached', async () => {
    const deps = await withSession(-1000)
    nock(AUTH)
      .post('/oauth2/token')
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}))
    const report = await verifySessions(['bot'], deps)
    expect(report).toMatchObject({
      exitCode: 5,
      results: [{status: 'unreachable', error: expect.stringMatching(/^cannot reach auth\.hs\.example \(ECONNREFUSED\)/)}],
    })
    expectNoRefreshToken(deps, report)
  })
})

describe('mxtok revoke with an OAuth session', () => {
  it('revokes the refresh token, then the access token (RFC 7009), then forgets the session', async () => {
    const deps = await withSession(200_000)
    const scope = nock(AUTH)
      .post('/oauth2/revoke', {token: OLD.refresh, token_type_hint: 'refresh_token', client_id: CLIENT_ID})
      .matchHeader('content-type', 'application/x-www-form-urlencoded')
      .reply(200)
      .post('/oauth2/revoke', {token: OLD.access, token_type_hint: 'access_token', client_id: CLIENT_ID})
      .reply(200)
    const result = await revokeSession({name: 'bot'}, deps)
    scope.done()
    expect(result).toEqual({name: 'bot', userId: USER, deviceId: DEVICE, homeserver: HS, revokedOnServer: true})
    expect(deps.memory.items.size).toBe(0)
    expect(await deps.registry.list()).toEqual([])
  })

  it("never sends an OAuth session's token to /logout, which MAS answers M_UNKNOWN_TOKEN for any OAuth token", async () => {
    const deps = await withSession(200_000)
    const logout = nock(HS).post('/_matrix/client/v3/logout').reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token'})
    nock(AUTH).post('/oauth2/revoke').times(2).reply(200)
    await revokeSession({name: 'bot'}, deps)
    expect(logout.isDone()).toBe(false)
  })

  it('keeps everything when the revocation fails, so it can be retried', async () => {
    const deps = await withSession(200_000)
    nock(AUTH).post('/oauth2/revoke').reply(503, {error: 'temporarily_unavailable', error_description: 'The server is overloaded.'})
    const err = await revokeSession({name: 'bot'}, deps).catch((e: unknown) => e)
    expect((err as Error).message).toBe(
      'auth.hs.example answered temporarily_unavailable: The server is overloaded. (HTTP 503); session "bot" was kept — try again, or use --local-only to forget it while its token may still work',
    )
    expect(await deps.registry.list()).toHaveLength(1)
    expect(deps.memory.items.size).toBe(1)
    expectNoRefreshToken(deps, err)
  })

  it('forgets the session when the issuer no longer knows its client (invalid_client): no token of that client works', async () => {
    const deps = await withSession(200_000)
    nock(AUTH).post('/oauth2/revoke').reply(401, {error: 'invalid_client', error_description: 'Client authentication failed.'})
    const result = await revokeSession({name: 'bot'}, deps)
    expect(result.revokedOnServer).toBe(true)
    expect(await deps.registry.list()).toEqual([])
    expect(deps.memory.items.size).toBe(0)
    expect(nock.pendingMocks()).toEqual([])
  })

  it('says so when the sign-in service offers no revocation', async () => {
    const deps = await withSession(200_000)
    await deps.registry.update((sessions) => {
      const s = sessions.get('bot')!
      sessions.set('bot', {...s, auth: 'oauth', oauth: {issuer: ISSUER, clientId: CLIENT_ID, tokenEndpoint: METADATA.token_endpoint}})
    })
    const err = await revokeSession({name: 'bot'}, deps).catch((e: unknown) => e)
    expect(err).toMatchObject({kind: 'homeserver', message: expect.stringMatching(/^auth\.hs\.example offers no token revocation \(RFC 7009\)/)})
    expect(await deps.registry.list()).toHaveLength(1)
  })
})

describe('mxtok doctor --fix with an OAuth pair left by an interrupted create', () => {
  it('revokes it with the issuer recorded in the journal, then removes it', async () => {
    const deps = unitDeps()
    const oauth = {issuer: ISSUER, clientId: CLIENT_ID, tokenEndpoint: METADATA.token_endpoint, revocationEndpoint: METADATA.revocation_endpoint}
    await deps.registry.update(
      (_, pending) =>
        void pending.set(ACCOUNT, {userId: USER, deviceId: DEVICE, homeserver: HS, store: 'keychain', since: '2026-01-01T00:00:00.000Z', auth: 'oauth', oauth}),
    )
    deps.memory.items.set(ACCOUNT, JSON.stringify({access_token: OLD.access, refresh_token: OLD.refresh, expires_at: null}))
    const scope = nock(AUTH)
      .post('/oauth2/revoke', {token: OLD.refresh, token_type_hint: 'refresh_token', client_id: CLIENT_ID})
      .reply(200)
      .post('/oauth2/revoke', {token: OLD.access, token_type_hint: 'access_token', client_id: CLIENT_ID})
      .reply(200)
    const report = await runDoctor({configuredStore: 'keychain', fix: true}, deps)
    scope.done()
    expect(report.orphans).toEqual([{kind: 'token', userId: USER, deviceId: DEVICE, store: 'keychain', homeserver: HS, fixed: true}])
    expect(deps.memory.items.has(ACCOUNT)).toBe(false)
    expect(await deps.registry.pending()).toEqual([])
  })
})

describe('mxtok doctor with a browser sign-in that was interrupted before a token arrived', () => {
  it('points at the sign-in service to end it, not at prune, which a sign-in service refuses', async () => {
    const deps = unitDeps()
    const oauth = {issuer: ISSUER, clientId: CLIENT_ID, tokenEndpoint: METADATA.token_endpoint}
    await deps.registry.update(
      (_, pending) =>
        void pending.set(ACCOUNT, {userId: USER, deviceId: DEVICE, homeserver: HS, store: 'keychain', since: '2026-01-01T00:00:00.000Z', auth: 'oauth', oauth}),
    )
    const {io, stdout} = testIo(deps)
    const {result: report} = await doctor({flags: {store: 'keychain'}}, io)
    const lines = stdout().split('\n')
    expect(report.orphans).toEqual([{kind: 'login', userId: USER, deviceId: DEVICE, store: 'keychain', homeserver: HS, issuer: ISSUER, fixed: false}])
    const warning = lines.find((l) => l.startsWith('WARN'))
    expect(warning).toBe(
      `WARN interrupted sign-in of ${USER} device ${DEVICE}: if it was approved, that session may still be live; end it in the list of sessions of your account at ${ISSUER}`,
    )
    expect(warning).not.toContain('prune')
  })
})
