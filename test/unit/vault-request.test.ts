import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {MxtokError} from '../../src/errors.js'
import {VaultClient} from '../../src/vault/client.js'
import {CasMismatch, VaultError} from '../../src/vault/errors.js'
import {KvV2} from '../../src/vault/kv.js'
import {callVault, type VaultEndpoint} from '../../src/vault/request.js'

const ADDR = 'https://vault.example:8200'
const TOKEN = 's.TOPSECRETTOKEN'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

function endpoint(more: Partial<VaultEndpoint> = {}): VaultEndpoint & {lines: string[]} {
  const lines: string[] = []
  return {settings: {address: new URL(ADDR)}, retryForMs: 400, debug: (l) => lines.push(l), lines, ...more}
}

const netError = (code: string, message: string) => Object.assign(new Error(message), {code})

async function failure(p: Promise<unknown>): Promise<VaultError> {
  const error = await p.then(
    () => expect.unreachable('expected the call to fail'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(VaultError)
  expect((error as VaultError).exitCode).toBe(9)
  expect(String((error as Error).message)).not.toContain(TOKEN)
  return error as VaultError
}

describe('a call to OpenBao/Vault', () => {
  it('sends X-Vault-Request always, the token and the namespace when there are, and keeps the token out of the debug lines', async () => {
    const scope = nock(ADDR, {reqheaders: {'x-vault-request': 'true', 'x-vault-token': TOKEN, 'x-vault-namespace': 'ops'}})
      .get('/v1/secret/data/a')
      .reply(200, {data: {data: {x: '1'}, metadata: {version: 3}}})
    const ep = endpoint({settings: {address: new URL(ADDR), namespace: 'ops'}})
    const answer = await callVault(ep, {method: 'GET', path: 'secret/data/a', token: TOKEN})
    expect(answer).toMatchObject({status: 200, mayHaveLanded: false})
    scope.done()
    expect(ep.lines).toEqual([expect.stringMatching(/^GET https:\/\/vault\.example:8200\/v1\/secret\/data\/a 200 \d+ms$/)])
    expect(ep.lines.join('\n')).not.toContain(TOKEN)
  })

  it("follows a standby's 307 once, to the leader, with the same method and body", async () => {
    nock(ADDR).post('/v1/secret/data/a').reply(307, '', {location: 'https://leader.example:8200/v1/secret/data/a'})
    const leader = nock('https://leader.example:8200', {reqheaders: {'x-vault-token': TOKEN}})
      .post('/v1/secret/data/a', {data: {x: '1'}, options: {cas: 0}})
      .reply(200, {data: {version: 1}})
    const answer = await callVault(endpoint(), {method: 'POST', path: 'secret/data/a', token: TOKEN, body: {data: {x: '1'}, options: {cas: 0}}})
    expect(answer.status).toBe(200)
    leader.done()
  })

  it('never follows a redirect from https to http, nor a second one', async () => {
    nock(ADDR).get('/v1/x').reply(307, '', {location: 'http://leader.example:8200/v1/x'})
    const downgrade = await failure(callVault(endpoint(), {method: 'GET', path: 'x', token: TOKEN}))
    expect(downgrade.message).toBe(
      "OpenBao/Vault at vault.example:8200 redirected x to http://leader.example:8200, without TLS; refusing to send the token there — check the cluster's api_addr settings",
    )
    nock(ADDR).get('/v1/x').reply(307, '', {location: 'https://b.example/v1/x'})
    nock('https://b.example').get('/v1/x').reply(307, '', {location: 'https://c.example/v1/x'})
    const twice = await failure(callVault(endpoint(), {method: 'GET', path: 'x', token: TOKEN}))
    expect(twice.message).toMatch(/redirected x more than once \(last to c\.example\)/)
  })

  it('retries a sealed server within its bound, then says so in one line', async () => {
    const scope = nock(ADDR)
      .get('/v1/x')
      .times(20)
      .reply(503, {errors: ['Vault is sealed']})
    const started = Date.now()
    const error = await failure(callVault(endpoint({retryForMs: 500}), {method: 'GET', path: 'x', token: TOKEN}))
    expect(Date.now() - started).toBeLessThan(1500)
    expect(error.reason).toBe('sealed')
    expect(error.message).toMatch(/^OpenBao\/Vault at vault\.example:8200 is sealed; unseal it \(bao operator unseal\) and run again \(tried for 0 s\)$/)
    expect(scope.pendingMocks().length).toBeLessThan(18)
  })

  it("a call with a bound of its own stops within it, the endpoint's being longer", async () => {
    let attempts = 0
    nock(ADDR)
      .get('/v1/x')
      .times(20)
      .reply(() => [503, {errors: [`Vault is sealed (${++attempts})`]}])
    const error = await failure(callVault(endpoint({retryForMs: 30_000}), {method: 'GET', path: 'x', token: TOKEN, withinMs: 300}))
    expect(error.reason).toBe('sealed')
    // Waits of about 0.1 and 0.2 s: two or three attempts in 300 ms, where the endpoint's 30 s would take all 20.
    expect(attempts).toBeGreaterThanOrEqual(2)
    expect(attempts).toBeLessThanOrEqual(3)
  })

  it('a standby without a leader (its 500) and a refused connection pass: the next attempt succeeds', async () => {
    nock(ADDR)
      .post('/v1/x')
      .reply(500, {errors: ['local node not active but active cluster node not found']})
      .post('/v1/x')
      .replyWithError(netError('ECONNRESET', 'socket hang up'))
      .post('/v1/x')
      .reply(200, {data: {version: 2}})
    const answer = await callVault(endpoint({retryForMs: 5000}), {method: 'POST', path: 'x', token: TOKEN, body: {}})
    expect(answer).toMatchObject({status: 200, mayHaveLanded: true})
  })

  it('only a refused first connection proves that a write did not land; a refused redirect, a 503 or a reset do not', async () => {
    const post = () => callVault(endpoint({retryForMs: 5000}), {method: 'POST', path: 'x', token: TOKEN, body: {}})
    nock(ADDR).post('/v1/x').replyWithError(netError('ECONNREFUSED', 'refused')).post('/v1/x').reply(200, {})
    expect((await post()).mayHaveLanded).toBe(false)
    nock(ADDR).post('/v1/x').reply(307, '', {location: 'https://leader.example/v1/x'}).post('/v1/x').reply(200, {})
    nock('https://leader.example').post('/v1/x').replyWithError(netError('ECONNREFUSED', 'refused'))
    expect((await post()).mayHaveLanded).toBe(true)
    nock(ADDR)
      .post('/v1/x')
      .reply(503, {errors: ['no active Vault instance found']})
      .post('/v1/x')
      .reply(200, {})
    expect((await post()).mayHaveLanded).toBe(true)
  })

  it('a leaderless cluster is its own reason, with the message the server gave', async () => {
    nock(ADDR)
      .get('/v1/x')
      .times(20)
      .reply(500, {errors: ['local node not active but active cluster node not found']})
    const error = await failure(callVault(endpoint({retryForMs: 200}), {method: 'GET', path: 'x', token: TOKEN}))
    expect(error.reason).toBe('noLeader')
    expect(error.message).toMatch(/has no active node: its cluster is electing a leader or has lost its quorum \(local node not active/)
  })

  it('an unreachable server names the address variable; plain http to another host is refused before sending', async () => {
    nock(ADDR).get('/v1/x').times(20).replyWithError(netError('ECONNREFUSED', 'connect ECONNREFUSED'))
    const error = await failure(callVault(endpoint({retryForMs: 100}), {method: 'GET', path: 'x', token: TOKEN}))
    expect(error).toMatchObject({reason: 'unreachable', status: 0})
    expect(error.message).toMatch(
      /^cannot reach OpenBao\/Vault at vault\.example:8200 \(ECONNREFUSED\); check BAO_ADDR \(or VAULT_ADDR\) and that the server is up/,
    )
    const plain = await callVault({settings: {address: new URL('http://vault.example:8200')}}, {method: 'GET', path: 'x', token: TOKEN}).catch((e) => e)
    expect(plain).toBeInstanceOf(MxtokError)
    expect(plain.kind).toBe('usage')
  })
})

describe('the client and KV v2', () => {
  const client = (ep = endpoint()) => new VaultClient(ep, TOKEN, 'BAO_TOKEN')

  it('a 403 with a working token names the path and the capability', async () => {
    nock(ADDR)
      .post('/v1/secret/data/mxtok/sessions/bot')
      .reply(403, {errors: ['1 error occurred:\n\t* permission denied\n\n']})
    nock(ADDR)
      .get('/v1/auth/token/lookup-self')
      .reply(200, {data: {ttl: 100}})
    const error = await failure(new KvV2(client(), 'secret').write('mxtok/sessions/bot', {access_token: 'x'}, 4))
    expect(error.reason).toBe('denied')
    expect(error.message).toBe(
      'OpenBao/Vault at vault.example:8200 denied update on secret/data/mxtok/sessions/bot (permission denied): the token\'s policies lack the "update" capability there; ask for it, or use another token',
    )
  })

  it('a 403 with a token the server does not know says so, and where the token came from', async () => {
    nock(ADDR)
      .get('/v1/secret/data/a')
      .reply(403, {errors: ['permission denied']})
    nock(ADDR)
      .get('/v1/auth/token/lookup-self')
      .reply(403, {errors: ['permission denied']})
    const error = await failure(new KvV2(client(), 'secret').read('a'))
    expect(error.reason).toBe('badToken')
    expect(error.message).toMatch(/^vault\.example:8200 does not accept the token from BAO_TOKEN \(expired, revoked/)
  })

  it('a 429 is tried again after its Retry-After, and one whose Retry-After is past the budget fails at once instead of waiting', async () => {
    nock(ADDR)
      .get('/v1/x')
      .reply(429, {errors: ['rate limit quota exceeded']}, {'retry-after': '0'})
    nock(ADDR).get('/v1/x').reply(200, {data: {}})
    expect((await callVault(endpoint(), {method: 'GET', path: 'x', token: TOKEN})).status).toBe(200)

    nock(ADDR)
      .get('/v1/x')
      .reply(429, {errors: ['rate limit quota exceeded']}, {'retry-after': '3600'})
    const started = Date.now()
    const error = await failure(callVault(endpoint({retryForMs: 30_000}), {method: 'GET', path: 'x', token: TOKEN}))
    expect(Date.now() - started).toBeLessThan(1000)
    expect(error.message).toBe('OpenBao/Vault at vault.example:8200 answered HTTP 429 to GET x: rate limit quota exceeded')
  })

  it("reads after a write carry the write's X-Vault-Index, so that a standby that has not applied it forwards them", async () => {
    const kv = new KvV2(client(), 'secret')
    nock(ADDR, {badheaders: ['x-vault-index', 'x-vault-inconsistent']})
      .get('/v1/secret/data/a')
      .reply(404, {errors: []})
    expect(await kv.read('a')).toBeUndefined()
    nock(ADDR, {badheaders: ['x-vault-index']})
      .post('/v1/secret/data/a')
      .reply(200, {data: {version: 1}}, {'x-vault-index': 'INDEX-OF-THE-WRITE'})
    expect(await kv.write('a', {x: '1'}, 0)).toBe(1)
    const after = nock(ADDR, {reqheaders: {'x-vault-index': 'INDEX-OF-THE-WRITE', 'x-vault-inconsistent': 'forward-active-node'}})
      .get('/v1/secret/data/a')
      .reply(200, {data: {data: {x: '1'}, metadata: {version: 1}}})
    expect(await kv.read('a')).toEqual({data: {x: '1'}, version: 1})
    after.done()
  })

  it('a CAS mismatch is its own error; after a lost answer, the version that landed is compared instead', async () => {
    nock(ADDR)
      .post('/v1/secret/data/a')
      .reply(400, {errors: ['check-and-set parameter did not match the current version']})
      .get('/v1/secret/data/a')
      .reply(200, {data: {data: {v: 'other'}, metadata: {version: 3}}})
    const lost = await failure(new KvV2(client(), 'secret').write('a', {v: '1'}, 2))
    expect(lost).toBeInstanceOf(CasMismatch)
    expect(lost.message).toBe(
      'secret/data/a on vault.example:8200 was changed by someone else meanwhile (it is no longer at version 2); nothing was written — run the command again',
    )

    nock(ADDR)
      .post('/v1/secret/data/a')
      .replyWithError(netError('ECONNRESET', 'reset'))
      .post('/v1/secret/data/a')
      .reply(400, {errors: ['check-and-set parameter did not match the current version']})
      .get('/v1/secret/data/a')
      .query({version: '3'})
      .reply(200, {data: {data: {v: '1'}, metadata: {version: 3}}})
    expect(await new KvV2(client(endpoint({retryForMs: 5000})), 'secret').write('a', {v: '1'}, 2)).toBe(3)
  })

  it('a mismatch from a standby that has not seen the version yet is sent again, not reported as a conflict', async () => {
    const mismatch = {errors: ['check-and-set parameter did not match the current version']}
    nock(ADDR)
      .post('/v1/secret/data/a', {data: {v: '5'}, options: {cas: 4}})
      .reply(400, mismatch)
      .get('/v1/secret/data/a')
      .reply(200, {data: {data: {v: '3'}, metadata: {version: 3}}})
      .post('/v1/secret/data/a', {data: {v: '5'}, options: {cas: 4}})
      .reply(200, {data: {version: 5}})
    expect(await new KvV2(client(), 'secret').write('a', {v: '5'}, 4)).toBe(5)
    // The standby may have caught up by the time it is asked.
    nock(ADDR)
      .post('/v1/secret/data/a')
      .reply(400, mismatch)
      .get('/v1/secret/data/a')
      .reply(200, {data: {data: {v: '4'}, metadata: {version: 4}}})
      .post('/v1/secret/data/a')
      .reply(200, {data: {version: 5}})
    expect(await new KvV2(client(), 'secret').write('a', {v: '5'}, 4)).toBe(5)
    // A node that has seen a later version: a conflict.
    nock(ADDR)
      .post('/v1/secret/data/a')
      .reply(400, mismatch)
      .get('/v1/secret/data/a')
      .reply(200, {data: {data: {v: 'x'}, metadata: {version: 5}}})
    expect(await failure(new KvV2(client(), 'secret').write('a', {v: '5'}, 4))).toBeInstanceOf(CasMismatch)
  })

  it('lists with detailed-metadata, and falls back to the plain list where the server has none', async () => {
    nock(ADDR)
      .get('/v1/secret/detailed-metadata/mxtok/sessions/')
      .query({list: 'true', limit: '1000'})
      .reply(200, {
        data: {
          keys: ['bot', 'sub/'],
          key_info: {bot: {current_version: 2, updated_time: 't', versions: {'2': {deletion_time: '', destroyed: false}}}, 'sub/': {}},
        },
      })
    expect(await new KvV2(client(), 'secret').list('mxtok/sessions')).toEqual([
      {name: 'bot', folder: false, version: 2, updatedTime: 't', deleted: false},
      {name: 'sub/', folder: true},
    ])
    nock(ADDR)
      .get('/v1/secret/detailed-metadata/mxtok/sessions/')
      .query(true)
      .reply(404, {data: null, warnings: ['Invalid path for a versioned K/V secrets engine.']})
      .get('/v1/secret/metadata/mxtok/sessions/')
      .query({list: 'true'})
      .reply(200, {data: {keys: ['bot']}})
    expect(await new KvV2(client(), 'secret').list('mxtok/sessions')).toEqual([{name: 'bot', folder: false}])
  })
})
