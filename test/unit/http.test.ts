import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {describeError} from '../../src/cli/describe-error.js'
import {ExitCode, MxtokError} from '../../src/errors.js'
import {DEVICE_LIST_MAX_BYTES, MatrixClient} from '../../src/matrix/client.js'
import {LocalErrcode, MatrixError} from '../../src/matrix/errors.js'
import {MAX_BODY_BYTES, RATE_LIMIT_BUDGET_MS, requestJson} from '../../src/matrix/http.js'

const HS = 'https://hs.example'
const url = (path: string) => new URL(HS + path)
const noSleep = {sleep: async () => {}}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

async function failure(p: Promise<unknown>): Promise<MatrixError> {
  const err = await p.then(
    () => expect.unreachable('expected the request to fail'),
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(MatrixError)
  return err as MatrixError
}

describe('requestJson', () => {
  it('sends the token as a bearer header and JSON bodies with a JSON content type', async () => {
    const scope = nock(HS, {reqheaders: {authorization: 'Bearer tok', 'content-type': 'application/json'}})
      .post('/x', {a: 1})
      .reply(200, {ok: true})
    const res = await requestJson({method: 'POST', url: url('/x'), token: 'tok', body: {a: 1}})
    expect(res.body).toEqual({ok: true})
    scope.done()
  })

  it('sends a form-encoded body when given `form`, as OAuth 2.0 endpoints expect', async () => {
    const scope = nock(HS, {reqheaders: {'content-type': 'application/x-www-form-urlencoded'}})
      .post('/token', 'grant_type=refresh_token&refresh_token=a+b%26c%3D&client_id=cid')
      .reply(200, {ok: true})
    await requestJson({method: 'POST', url: url('/token'), form: {grant_type: 'refresh_token', refresh_token: 'a b&c=', client_id: 'cid'}})
    scope.done()
  })

  it('turns an OAuth error into a MatrixError whose errcode is the `error` code, whatever the status', async () => {
    nock(HS).post('/token').reply(403, {error: 'authorization_pending', error_description: 'The authorization request is still pending'})
    const err = await failure(requestJson({method: 'POST', url: url('/token'), form: {}}))
    expect(err).toMatchObject({
      status: 403,
      errcode: 'authorization_pending',
      message: 'hs.example answered authorization_pending: The authorization request is still pending (HTTP 403)',
    })
    expect(err.isLocal).toBe(false)
  })

  it('reads an empty 2xx answer as {} only where allowed (RFC 7009 revocation)', async () => {
    nock(HS).post('/revoke').twice().reply(200)
    expect((await requestJson({method: 'POST', url: url('/revoke'), form: {}, emptyOk: true})).body).toEqual({})
    expect((await failure(requestJson({method: 'POST', url: url('/revoke'), form: {}}))).errcode).toBe(LocalErrcode.badResponse)
  })

  it('keeps errcode, message and status of a Matrix error', async () => {
    nock(HS).get('/x').reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.', soft_logout: false})
    const err = await failure(requestJson({method: 'GET', url: url('/x')}))
    expect(err).toMatchObject({status: 401, errcode: 'M_UNKNOWN_TOKEN', message: 'Invalid access token passed.'})
  })

  it('waits as long as Retry-After says, then retries', async () => {
    const sleeps: number[] = []
    nock(HS).get('/x').reply(429, {errcode: 'M_LIMIT_EXCEEDED', error: 'Too many', retry_after_ms: 900}, {'Retry-After': '2'})
    nock(HS).get('/x').reply(200, {done: 1})
    const res = await requestJson({method: 'GET', url: url('/x')}, {sleep: async (ms) => void sleeps.push(ms)})
    expect(res.body).toEqual({done: 1})
    expect(sleeps).toEqual([2000])
  })

  it('falls back to retry_after_ms when there is no Retry-After header', async () => {
    const sleeps: number[] = []
    nock(HS).get('/x').reply(429, {errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 1500})
    nock(HS).get('/x').reply(200, {})
    await requestJson({method: 'GET', url: url('/x')}, {sleep: async (ms) => void sleeps.push(ms)})
    expect(sleeps).toEqual([1500])
  })

  it('waits as long as the server asks, however many times, while the waits stay within the budget', async () => {
    const sleeps: number[] = []
    nock(HS).get('/x').times(6).reply(429, {errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 20_000}, {'Retry-After': '20'})
    nock(HS).get('/x').reply(200, {done: 1})
    const res = await requestJson({method: 'GET', url: url('/x')}, {sleep: async (ms) => void sleeps.push(ms)})
    expect(res.body).toEqual({done: 1})
    expect(sleeps).toEqual(Array(6).fill(20_000))
    expect(sleeps.reduce((a, b) => a + b)).toBeLessThanOrEqual(RATE_LIMIT_BUDGET_MS)
  })

  it('backs off when a 429 says nothing of how long to wait (MAS)', async () => {
    const sleeps: number[] = []
    nock(HS).get('/x').times(4).reply(429, {errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests'})
    nock(HS).get('/x').reply(200, {})
    await requestJson({method: 'GET', url: url('/x')}, {sleep: async (ms) => void sleeps.push(ms)})
    expect(sleeps).toEqual([1000, 2000, 4000, 8000])
  })

  it('says each wait to the listener: server, wait, retry and budget', async () => {
    const notices: unknown[] = []
    nock(HS).get('/x').times(2).reply(429, {errcode: 'M_LIMIT_EXCEEDED'}, {'Retry-After': '6'})
    nock(HS).get('/x').reply(200, {})
    await requestJson({method: 'GET', url: url('/x')}, {...noSleep, rateLimited: (n) => void notices.push(n)})
    expect(notices).toEqual([
      {host: 'hs.example', waitMs: 6000, retry: 1, waitedMs: 0, budgetMs: RATE_LIMIT_BUDGET_MS},
      {host: 'hs.example', waitMs: 6000, retry: 2, waitedMs: 6000, budgetMs: RATE_LIMIT_BUDGET_MS},
    ])
  })

  it('a rate limit that outlasts the budget is an error of its own (exit 10), saying how long mxtok waited', async () => {
    const sleeps: number[] = []
    nock(HS).get('/x').times(2).reply(429, {errcode: 'M_LIMIT_EXCEEDED'}, {'Retry-After': '100'})
    const err = await failure(requestJson({method: 'GET', url: url('/x')}, {sleep: async (ms) => void sleeps.push(ms)}))
    expect(sleeps).toEqual([100_000])
    expect(err).toMatchObject({status: 429, errcode: 'M_LIMIT_EXCEEDED'})
    expect(err.message).toBe(
      `hs.example is still rate-limiting requests after mxtok waited 100 s, and asks for 100 s more (mxtok waits ${RATE_LIMIT_BUDGET_MS / 1000} s at most); try again in a few minutes`,
    )
    expect(describeError(err)).toEqual({kind: 'rateLimited', message: err.message})
    expect(ExitCode.rateLimited).toBe(10)
  })

  it('gives up at once when the server asks for a wait longer than the budget', async () => {
    const sleeps: number[] = []
    nock(HS).get('/x').reply(429, {errcode: 'M_LIMIT_EXCEEDED'}, {'Retry-After': '3600'})
    const err = await failure(requestJson({method: 'GET', url: url('/x')}, {sleep: async (ms) => void sleeps.push(ms)}))
    expect(sleeps).toEqual([])
    expect(err.message).toBe(
      `hs.example is rate-limiting requests and asks to wait 3600 s, longer than mxtok waits (${RATE_LIMIT_BUDGET_MS / 1000} s); try again then`,
    )
    expect(describeError(err).kind).toBe('rateLimited')
  })

  it('reports a reverse proxy 502 HTML page in one line, without the HTML', async () => {
    nock(HS).get('/x').reply(502, '<html><body><h1>502 Bad Gateway</h1>nginx</body></html>', {'content-type': 'text/html'})
    const err = await failure(requestJson({method: 'GET', url: url('/x')}))
    expect(err.errcode).toBe(LocalErrcode.badResponse)
    expect(err.message).toBe('hs.example answered HTTP 502 with an HTML page, not a Matrix error; the homeserver or a proxy in front of it is failing')
  })

  it('rejects a 200 answer that is not a JSON object', async () => {
    nock(HS).get('/x').reply(200, 'hello', {'content-type': 'text/plain'})
    const err = await failure(requestJson({method: 'GET', url: url('/x')}))
    expect(err.errcode).toBe(LocalErrcode.badResponse)
    expect(err.message).toContain('a text/plain body instead of a Matrix JSON object')
  })

  it('times out a server that never answers', async () => {
    nock(HS).get('/x').delay(5000).reply(200, {})
    const err = await failure(requestJson({method: 'GET', url: url('/x')}, {timeoutMs: 200}))
    expect(err.errcode).toBe(LocalErrcode.timeout)
    expect(err.message).toMatch(/did not answer within/)
  })

  it('refuses a body larger than the cap', async () => {
    nock(HS)
      .get('/x')
      .reply(200, 'x'.repeat(MAX_BODY_BYTES + 10))
    const err = await failure(requestJson({method: 'GET', url: url('/x')}))
    expect(err.message).toMatch(/larger than 1024 KiB/)
  })

  it("reads a device list of tens of thousands of devices, larger than other answers' cap; other answers stay capped", async () => {
    const name = 'a display name of a bridge that logs in at each start, long enough to matter'
    const devices = Array.from({length: 30_000}, (_, i) => ({
      device_id: `DEV${String(i).padStart(7, '0')}`,
      display_name: name,
      last_seen_ip: '203.0.113.7',
      last_seen_ts: 1_700_000_000_000 + i,
      user_id: '@bot:hs.example',
    }))
    const body = JSON.stringify({devices})
    expect(body.length).toBeGreaterThan(5 * MAX_BODY_BYTES)
    nock(HS).get('/_matrix/client/v3/devices').reply(200, body, {'content-type': 'application/json'})
    const listed = await new MatrixClient(HS).devices('tok')
    expect(listed).toHaveLength(30_000)
    expect(listed[29_999]).toEqual({deviceId: 'DEV0029999', displayName: name, lastSeenIp: '203.0.113.7', lastSeenTs: 1_700_000_029_999})
    nock(HS).get('/_matrix/client/versions').reply(200, body, {'content-type': 'application/json'})
    const err = await failure(new MatrixClient(HS).versions())
    expect(err.message).toBe('hs.example sent an answer larger than 1024 KiB; refusing to read it')
  })

  it('refuses a device list over its own cap, naming that cap', async () => {
    nock(HS)
      .get('/_matrix/client/v3/devices')
      .reply(200, 'x'.repeat(DEVICE_LIST_MAX_BYTES + 10))
    const err = await failure(new MatrixClient(HS).devices('tok'))
    expect(err.message).toBe(`hs.example sent an answer larger than ${DEVICE_LIST_MAX_BYTES / 1024 / 1024} MiB; refusing to read it`)
  })

  it('follows a redirect within the same origin', async () => {
    nock(HS).get('/x').reply(307, '', {location: '/y'})
    nock(HS, {reqheaders: {authorization: 'Bearer tok'}})
      .get('/y')
      .reply(200, {at: 'y'})
    const res = await requestJson({method: 'GET', url: url('/x'), token: 'tok'})
    expect(res.body).toEqual({at: 'y'})
  })

  it('refuses a redirect to another origin and never contacts it', async () => {
    nock(HS).get('/x').reply(302, '', {location: 'https://evil.example/steal'})
    const evil = nock('https://evil.example').get('/steal').reply(200, {})
    const err = await failure(requestJson({method: 'GET', url: url('/x'), token: 'tok'}))
    expect(err.errcode).toBe(LocalErrcode.crossOriginRedirect)
    expect(evil.isDone()).toBe(false)
  })

  it('names the cause when the server cannot be reached', async () => {
    // An Error, as node:http emits: nock hangs the request on a plain object (nock/nock#2789).
    nock(HS)
      .get('/x')
      .replyWithError(Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}))
    const err = await failure(requestJson({method: 'GET', url: url('/x')}))
    expect(err.errcode).toBe(LocalErrcode.unreachable)
    expect(err.message).toMatch(/^cannot reach hs\.example \(ECONNREFUSED\)/)
  })
})

describe('requestJson and User-Interactive Auth', () => {
  it('keeps the body of a 401 challenge that has no errcode, so its flows and session can be answered', async () => {
    nock(HS)
      .post('/_matrix/client/v3/delete_devices')
      .reply(401, {flows: [{stages: ['m.login.password']}], params: {}, session: 'uia-session'})
    const err = await failure(requestJson({method: 'POST', url: url('/_matrix/client/v3/delete_devices'), token: 'tok', body: {devices: ['X']}}))
    expect(err.status).toBe(401)
    expect(err.body).toEqual({flows: [{stages: ['m.login.password']}], params: {}, session: 'uia-session'})
  })

  it('keeps the body of a failed stage, which carries an errcode beside the session', async () => {
    nock(HS)
      .post('/x')
      .reply(401, {errcode: 'M_FORBIDDEN', error: 'Invalid password', flows: [{stages: ['m.login.password']}], session: 's2'})
    const err = await failure(requestJson({method: 'POST', url: url('/x'), body: {}}))
    expect(err).toMatchObject({errcode: 'M_FORBIDDEN', body: {session: 's2'}})
  })
})

describe('requestJson and plain http://', () => {
  async function refused(p: Promise<unknown>): Promise<MxtokError> {
    const err = await p.then(
      () => expect.unreachable('expected the request to be refused'),
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(MxtokError)
    expect((err as MxtokError).kind).toBe('usage')
    return err as MxtokError
  }

  it('sends nothing to a host that is not loopback, whatever URL it is handed', async () => {
    const lan = nock('http://192.168.1.20:8008').post('/_matrix/client/v3/logout').reply(200, {})
    const err = await refused(requestJson({method: 'POST', url: new URL('http://192.168.1.20:8008/_matrix/client/v3/logout'), token: 'tok', body: {}}))
    expect(err.message).toBe(
      'refusing plain http:// to 192.168.1.20:8008, which is not on this machine: the token or password would travel unencrypted; use https://, or pass --allow-http (MXTOK_ALLOW_HTTP=1 for a command without it) if this server really has no TLS',
    )
    expect(lan.isDone()).toBe(false)
  })

  it('sends to it when the user allowed plain http for this run', async () => {
    const lan = nock('http://192.168.1.20:8008').get('/x').reply(200, {ok: true})
    expect((await requestJson({method: 'GET', url: new URL('http://192.168.1.20:8008/x')}, {allowHttp: true})).body).toEqual({ok: true})
    lan.done()
  })

  it('sends plain http to loopback', async () => {
    for (const base of ['http://127.0.0.1:8008', 'http://localhost:8008', 'http://[::1]:8008']) {
      const scope = nock(base).get('/x').reply(200, {ok: true})
      await requestJson({method: 'GET', url: new URL(`${base}/x`)})
      scope.done()
    }
  })

  it('refuses a redirect to plain http elsewhere, even where other origins are allowed (discovery)', async () => {
    nock('https://example.org').get('/.well-known/matrix/client').reply(302, '', {location: 'http://example.org/.well-known/matrix/client'})
    const clear = nock('http://example.org').get('/.well-known/matrix/client').reply(200, {})
    await refused(requestJson({method: 'GET', url: new URL('https://example.org/.well-known/matrix/client'), allowCrossOriginRedirect: true}))
    expect(clear.isDone()).toBe(false)
  })
})

describe('requestJson and onRequest', () => {
  it('is told when each request begins and ends, whatever its end, so that no request goes unwatched', async () => {
    const events: string[] = []
    let n = 0
    const onRequest = () => {
      const id = ++n
      events.push(`begin ${id}`)
      return () => void events.push(`end ${id}`)
    }
    nock(HS).get('/ok').reply(200, {}).get('/fails').reply(500, 'no')
    await requestJson({method: 'GET', url: new URL(`${HS}/ok`)}, {onRequest})
    await expect(requestJson({method: 'GET', url: new URL(`${HS}/fails`)}, {onRequest})).rejects.toBeInstanceOf(MatrixError)
    // Refused before it is sent, and still seen to end.
    await expect(requestJson({method: 'GET', url: new URL('http://192.168.1.20:8008/x')}, {onRequest})).rejects.toBeInstanceOf(MxtokError)
    expect(events).toEqual(['begin 1', 'end 1', 'begin 2', 'end 2', 'begin 3', 'end 3'])
  })
})
