// An operator's admin client of MAS as a session: the client credentials grant at the token
// endpoint (client_secret_basic), its token checked on MAS's admin API, renewed with the client
// secret when it expires or is refused, revoked by RFC 7009 with the client's own credentials.
import {PassThrough} from 'node:stream'
import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {create} from '../../src/cli/actions/create.js'
import {createClientSession} from '../../src/core/create-client-session.js'
import {runDoctor} from '../../src/core/doctor.js'
import {RefreshRefused} from '../../src/core/find-session.js'
import {getToken} from '../../src/core/get-token.js'
import {revokeSession} from '../../src/core/revoke-session.js'
import {rotateSession} from '../../src/core/rotate-session.js'
import {verifySessions} from '../../src/core/verify-sessions.js'
import {type AdminClientSession, clientAccount, newClientTokenKey} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {AUTH, HS, ISSUER, METADATA} from '../support/mas.js'
import {testIo} from '../support/test-io.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const ID = '01J44QC8BCY7FCFM7WGHQGKMTJ'
const SECRET = 'b87f4ef22b1191c1e57e2c4cc2b04517'
const BASIC = `Basic ${Buffer.from(`${ID}:${SECRET}`).toString('base64')}`
const NOW = Date.parse('2026-01-02T03:04:05.000Z')
const GRANT_FORM = {grant_type: 'client_credentials', scope: 'urn:mas:admin'}
const tokenOf = (n: number) => `mat_client${n}Xq3LmZ8pW2rT6vY9bN4cK7dF1g_1a2B3c`
/** MAS's answer to the client credentials grant: an access token alone, five minutes of life. */
const reply = (n: number) => ({access_token: tokenOf(n), token_type: 'Bearer', expires_in: 300, scope: 'urn:mas:admin'})
const SITE_CONFIG = {server_name: 'hs.example', password_login_enabled: true}
const REFUSED = {errors: [{title: 'Access token revoked'}]}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

const KEY = newClientTokenKey('ABCDEFGH2345')
const ACCOUNT = secretAccount(clientAccount(ID), KEY)

/** A session as create records it, its token expiring `inMs` after the unit clock's now. */
async function seeded(inMs: number): Promise<UnitDeps> {
  const deps = unitDeps()
  const session: AdminClientSession = {
    name: 'ops',
    userId: clientAccount(ID),
    homeserver: HS,
    deviceId: KEY,
    createdAt: '2026-01-01T00:00:00.000Z',
    store: 'keychain',
    auth: 'client',
    oauth: {issuer: ISSUER, clientId: ID, tokenEndpoint: METADATA.token_endpoint, revocationEndpoint: METADATA.revocation_endpoint, admin: true},
  }
  await deps.registry.update((sessions) => void sessions.set(session.name, session))
  deps.memory.items.set(ACCOUNT, JSON.stringify({access_token: tokenOf(1), client_secret: SECRET, expires_at: new Date(NOW + inMs).toISOString()}))
  return deps
}

/** Nothing a person may read carries the client secret or a token. */
function expectNoSecrets(deps: UnitDeps, ...said: unknown[]) {
  const text = [...deps.warnings, ...said.map((s) => (s instanceof Error ? s.message : JSON.stringify(s)))].join('\n')
  for (const secret of [SECRET, tokenOf(1), tokenOf(2)]) expect(text).not.toContain(secret)
}

const revocation = (n: number) =>
  nock(AUTH)
    .post('/oauth2/revoke', {token: tokenOf(n), token_type_hint: 'access_token'})
    .matchHeader('authorization', BASIC)
    .reply(200, '')

describe('create --client-id', () => {
  const create = (deps: UnitDeps) => createClientSession({name: 'ops', homeserver: HS, clientId: ID, clientSecret: async () => SECRET}, deps)

  it('asks the token endpoint with the client authenticated by HTTP Basic, checks the token on the admin API, and keeps it with the secret', async () => {
    const deps = unitDeps()
    const hs = nock(HS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    const token = nock(AUTH).post('/oauth2/token', GRANT_FORM).matchHeader('authorization', BASIC).reply(200, reply(1))
    const admin = nock(AUTH)
      .get('/api/admin/v1/site-config')
      .matchHeader('authorization', `Bearer ${tokenOf(1)}`)
      .reply(200, SITE_CONFIG)
    const session = await create(deps)
    hs.done()
    token.done()
    admin.done()
    expect(session).toMatchObject({name: 'ops', auth: 'client', userId: `client:${ID}`, homeserver: HS, oauth: {clientId: ID, admin: true}})
    expect(session.deviceId).toMatch(/^CLIENT[A-Z2-7]{12}$/)
    const account = secretAccount(session.userId, session.deviceId)
    expect(JSON.parse(deps.memory.items.get(account)!)).toEqual({
      access_token: tokenOf(1),
      client_secret: SECRET,
      expires_at: new Date(NOW + 300_000).toISOString(),
    })
    expect(await deps.registry.pending()).toEqual([])
    expectNoSecrets(deps, session)
  })

  it('says which part of the configuration to check when the secret is refused (invalid_client), and keeps nothing', async () => {
    const deps = unitDeps()
    nock(HS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    nock(AUTH).post('/oauth2/token', GRANT_FORM).reply(401, {error: 'invalid_client', error_description: 'Client authentication failed.'})
    const error = await create(deps).catch((e: unknown) => e)
    expect(error).toMatchObject({kind: 'loginRefused', exitCode: 3})
    expect((error as Error).message).toContain(`refused client ${ID} with this secret (invalid_client)`)
    expect(deps.memory.items.size).toBe(0)
    expect(await deps.registry.list()).toEqual([])
    expect(await deps.registry.pending()).toEqual([])
    expectNoSecrets(deps, error)
  })

  it('names policy.data.admin_clients when the client may not have the admin scope (invalid_scope)', async () => {
    const deps = unitDeps()
    nock(HS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    nock(AUTH).post('/oauth2/token', GRANT_FORM).reply(403, {error: 'invalid_scope', error_description: "scope 'urn:mas:admin' not allowed"})
    const error = await create(deps).catch((e: unknown) => e)
    expect((error as Error).message).toContain('add the client to policy.data.admin_clients')
  })

  it('revokes a token the admin API refuses, and keeps nothing', async () => {
    const deps = unitDeps()
    nock(HS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    nock(AUTH).post('/oauth2/token', GRANT_FORM).reply(200, reply(1))
    nock(AUTH)
      .get('/api/admin/v1/site-config')
      .reply(404, {errors: [{title: 'Not found'}]})
    const revoked = revocation(1)
    const error = await create(deps).catch((e: unknown) => e)
    revoked.done()
    expect((error as Error).message).toContain('does not reach the admin API')
    expect(deps.memory.items.size).toBe(0)
    expect(await deps.registry.pending()).toEqual([])
  })

  it('refuses a server whose sign-in service offers no client credentials grant, before the secret is asked for', async () => {
    const deps = unitDeps()
    nock(HS)
      .get('/_matrix/client/v1/auth_metadata')
      .reply(200, {...METADATA, grant_types_supported: ['authorization_code', 'refresh_token']})
    let asked = false
    const error = await createClientSession(
      {
        name: 'ops',
        homeserver: HS,
        clientId: ID,
        clientSecret: async () => {
          asked = true
          return SECRET
        },
      },
      deps,
    ).catch((e: unknown) => e)
    expect((error as Error).message).toContain('offers no client credentials grant')
    expect(asked).toBe(false)
  })
})

describe('the create command line', () => {
  it('without --user or --client-id, asks for --user and names --client-id', async () => {
    const {io} = testIo(unitDeps())
    await expect(create({args: {name: 'ops'}, flags: {store: 'keychain'}}, io)).rejects.toThrow(
      '--user is required (see "mxtok create --help"), or --client-id with --homeserver for an admin client of the Matrix Authentication Service',
    )
  })

  it('with --client-id but no --homeserver, asks for it before anything else', async () => {
    const {io} = testIo(unitDeps())
    await expect(create({args: {name: 'ops'}, flags: {store: 'keychain', 'client-id': ID}}, io)).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringContaining('--client-id needs --homeserver'),
    })
  })

  it('reads the secret from the first line of standard input, never argv, and prints no secret', async () => {
    const deps = unitDeps()
    nock(HS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    nock(AUTH).post('/oauth2/token', GRANT_FORM).matchHeader('authorization', BASIC).reply(200, reply(1))
    nock(AUTH).get('/api/admin/v1/site-config').reply(200, SITE_CONFIG)
    const t = testIo(deps, {json: true})
    const stdin = Object.assign(new PassThrough(), {isTTY: false})
    stdin.end(`${SECRET}\nnot read`)
    Object.defineProperty(t.io, 'stdin', {get: () => stdin})
    const outcome = await create({args: {name: 'ops'}, flags: {store: 'keychain', homeserver: HS, 'client-id': ID, 'client-secret-stdin': true}}, t.io)
    expect(nock.isDone()).toBe(true)
    expect(outcome).toMatchObject({result: {name: 'ops', userId: null, deviceId: null, masAdmin: 'client', clientId: ID}})
    expectNoSecrets(deps, outcome, t.stdout(), t.stderr())
  })
})

describe("an admin client's token", () => {
  it('is used as it is while it has more than a minute left', async () => {
    const deps = await seeded(61_000)
    expect(await getToken('ops', deps)).toBe(tokenOf(1))
    expect(deps.memory.writes).toEqual([])
  })

  it('is replaced by a new one of the client credentials grant when it expires within a minute, and the old one revoked', async () => {
    const deps = await seeded(59_000)
    const token = nock(AUTH).post('/oauth2/token', GRANT_FORM).matchHeader('authorization', BASIC).reply(200, reply(2))
    const revoked = revocation(1)
    expect(await getToken('ops', deps)).toBe(tokenOf(2))
    token.done()
    revoked.done()
    expect(deps.memory.writes).toEqual([ACCOUNT])
    expect(JSON.parse(deps.memory.items.get(ACCOUNT)!)).toEqual({
      access_token: tokenOf(2),
      client_secret: SECRET,
      expires_at: new Date(NOW + 300_000).toISOString(),
    })
  })

  it('is not revoked once expired: the server has ended it', async () => {
    const deps = await seeded(-1000)
    nock(AUTH).post('/oauth2/token', GRANT_FORM).reply(200, reply(2))
    expect(await getToken('ops', deps)).toBe(tokenOf(2))
    expect(nock.isDone()).toBe(true)
    // A revocation tried would have failed here (no network), and been warned of.
    expect(deps.warnings).toEqual([])
  })

  it('fails with exit 4 when the client credentials are refused, saying what to do, the stored token kept', async () => {
    const deps = await seeded(-1000)
    nock(AUTH).post('/oauth2/token', GRANT_FORM).reply(401, {error: 'invalid_client', error_description: 'Client authentication failed.'})
    const error = await getToken('ops', deps).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RefreshRefused)
    expect(error).toMatchObject({exitCode: 4})
    expect((error as Error).message).toContain(`no longer gives client ${ID} of session "ops" a token (invalid_client)`)
    expect(JSON.parse(deps.memory.items.get(ACCOUNT)!).access_token).toBe(tokenOf(1))
    expectNoSecrets(deps, error)
  })
})

describe('verify, revoke and rotate of an admin client session', () => {
  it('verify asks the admin API, and a refused token gets one new token before it counts', async () => {
    const deps = await seeded(120_000)
    nock(AUTH)
      .get('/api/admin/v1/site-config')
      .matchHeader('authorization', `Bearer ${tokenOf(1)}`)
      .reply(401, REFUSED)
    nock(AUTH).post('/oauth2/token', GRANT_FORM).reply(200, reply(2))
    revocation(1)
    nock(AUTH)
      .get('/api/admin/v1/site-config')
      .matchHeader('authorization', `Bearer ${tokenOf(2)}`)
      .reply(200, SITE_CONFIG)
    const report = await verifySessions(['ops'], deps)
    expect(nock.isDone()).toBe(true)
    expect(report.results).toEqual([{name: 'ops', status: 'valid', userId: null, deviceId: null, masAdmin: 'client', clientId: ID}])
    expect(report.exitCode).toBe(0)
  })

  it('verify says revoked when the client credentials are refused too', async () => {
    const deps = await seeded(120_000)
    nock(AUTH).get('/api/admin/v1/site-config').reply(401, REFUSED)
    nock(AUTH).post('/oauth2/token', GRANT_FORM).reply(401, {error: 'invalid_client'})
    const report = await verifySessions(['ops'], deps)
    expect(report.results[0]).toMatchObject({status: 'revoked', userId: null})
    expect(report.exitCode).toBe(4)
  })

  it('revoke ends the token by RFC 7009, the client authenticated by its own credentials, and forgets the secret', async () => {
    const deps = await seeded(120_000)
    const revoked = revocation(1)
    const result = await revokeSession({name: 'ops'}, deps)
    revoked.done()
    expect(result).toEqual({name: 'ops', userId: null, deviceId: null, homeserver: HS, revokedOnServer: true, clientId: ID})
    expect(deps.memory.items.size).toBe(0)
    expect(await deps.registry.list()).toEqual([])
  })

  it('revoke keeps the session when the issuer refuses the client: its token may live', async () => {
    const deps = await seeded(120_000)
    nock(AUTH).post('/oauth2/revoke').reply(401, {error: 'invalid_client'})
    const error = await revokeSession({name: 'ops'}, deps).catch((e: unknown) => e)
    expect((error as Error).message).toContain('session "ops" was kept')
    expect(deps.memory.items.has(ACCOUNT)).toBe(true)
  })

  it('rotate gets a new token and revokes the old one', async () => {
    const deps = await seeded(120_000)
    nock(AUTH).post('/oauth2/token', GRANT_FORM).reply(200, reply(2))
    // Once by the renewal, once by rotate, which must know it worked.
    nock(AUTH)
      .post('/oauth2/revoke', {token: tokenOf(1), token_type_hint: 'access_token'})
      .twice()
      .matchHeader('authorization', BASIC)
      .reply(200, '')
    const result = await rotateSession({name: 'ops', confirmDeviceReset: async () => false, password: async () => ''}, deps)
    expect(nock.isDone()).toBe(true)
    expect(result.session.auth).toBe('client')
    expect(JSON.parse(deps.memory.items.get(ACCOUNT)!).access_token).toBe(tokenOf(2))
  })
})

describe("doctor, after a create of an admin client's session was killed", () => {
  const journalled = async (deps: UnitDeps) =>
    deps.registry.update(
      (_, pending) =>
        void pending.set(ACCOUNT, {
          auth: 'client',
          name: 'ops',
          userId: clientAccount(ID),
          deviceId: KEY,
          homeserver: HS,
          store: 'keychain',
          since: '2026-01-02T03:00:00.000Z',
          oauth: {issuer: ISSUER, clientId: ID, tokenEndpoint: METADATA.token_endpoint, revocationEndpoint: METADATA.revocation_endpoint, admin: true},
        }),
    )

  it('before the token was kept: reports the client, whose token ends by itself; --fix forgets the entry', async () => {
    const deps = unitDeps()
    await journalled(deps)
    const report = await runDoctor({configuredStore: 'keychain'}, deps)
    expect(report.orphans).toEqual([
      {kind: 'login', name: 'ops', userId: clientAccount(ID), deviceId: KEY, store: 'keychain', homeserver: HS, client: ID, fixed: false},
    ])
    const fixed = await runDoctor({configuredStore: 'keychain', fix: true}, deps)
    expect(fixed.orphans[0].fixed).toBe(true)
    expect(await deps.registry.pending()).toEqual([])
  })

  it('with the token kept but no session recorded: --fix revokes it with the client credentials and removes it', async () => {
    const deps = unitDeps()
    await journalled(deps)
    deps.memory.items.set(ACCOUNT, JSON.stringify({access_token: tokenOf(1), client_secret: SECRET, expires_at: new Date(NOW + 120_000).toISOString()}))
    const revoked = revocation(1)
    const report = await runDoctor({configuredStore: 'keychain', fix: true}, deps)
    revoked.done()
    expect(report.orphans).toEqual([expect.objectContaining({kind: 'token', fixed: true})])
    expect(deps.memory.items.size).toBe(0)
    expect(await deps.registry.pending()).toEqual([])
  })
})
