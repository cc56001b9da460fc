// Every number a server sends, drawn from the extremes (0, negative, fractional, 2^53, 1e300, …),
// through the use cases that read it: mxtok never crashes (success, or a server error, exit 5),
// never strands a token the server made (the server saw the logout or revocation of any token not
// kept), and never waits or polls past its bounds.
import fc from 'fast-check'
import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {describeError} from '../../src/cli/describe-error.js'
import {createSession} from '../../src/core/create-session.js'
import {getToken} from '../../src/core/get-token.js'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {MAX_RATE_LIMIT_RETRIES, RATE_LIMIT_BUDGET_MS, requestJson} from '../../src/matrix/http.js'
import type {Session} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {AUTH, DEVICE_AUTHORIZATION, HS, METADATA, NO_PASSWORD_FLOWS, PENDING, registrationReply, SLOW_DOWN, seedOAuthSession} from '../support/mas.js'
import {unitDeps} from '../support/unit-deps.js'

const USER = '@bot:hs.example'
const DEVICE = deriveDeviceId(USER, 'bot')
const ACCOUNT = secretAccount(USER, DEVICE)
const NOW = Date.parse('2026-01-02T03:04:05.000Z')
const TEN_YEARS_MS = 3653 * 86_400_000
const RUNS = {numRuns: 60}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

/** A number as a broken or hostile server may send it; JSON carries no NaN or Infinity. */
const extreme = fc.oneof(
  fc.constantFrom(0, -0, -1, -1e300, Number.MIN_VALUE, 0.001, 0.5, 1, 1.5, 299.5, 300, 2 ** 31, 2 ** 53, 2 ** 53 + 2, 1e15, 1e300, Number.MAX_VALUE),
  fc.double({noNaN: true, noDefaultInfinity: true}),
  fc.integer(),
)
/** The field as sent: a number, or absent, null, or a number written as a string. */
const numberField = fc.oneof(extreme, extreme, fc.constantFrom(undefined, null, '300'))

/** Success, or an error that says the server answered wrongly (exit 5), or `also` allows another. */
function expectNoCrash(err: unknown, also: (e: unknown) => boolean = () => false) {
  if (err === undefined || also(err)) return
  const {kind, message} = describeError(err)
  expect(kind, message).toBe('homeserver')
  expect(message).not.toMatch(/\n/)
}

/** A stored expiry, if any, is a date within 10 years of now. */
function expectSaneExpiry(raw: string | undefined) {
  if (raw === undefined || !raw.startsWith('{')) return
  const {expires_at: at} = JSON.parse(raw)
  if (at === null) return
  const ms = Date.parse(at)
  expect(ms).toBeGreaterThan(NOW)
  expect(ms).toBeLessThanOrEqual(NOW + TEN_YEARS_MS + 1000)
}

const bearer = (header: string | string[] | undefined) => String(header).replace(/^Bearer /, '')

describe('server numbers: a password login that the server answers with a token lifetime', () => {
  it('keeps the token with a sane expiry, or fails with exit 5 after logging out every token it could not keep', async () => {
    await fc.assert(
      fc.asyncProperty(fc.tuple(numberField, numberField, numberField), async (lifetimes) => {
        nock.cleanAll()
        const deps = unitDeps()
        const issued: string[] = []
        const loggedOut: string[] = []
        nock(HS)
          .get('/_matrix/client/v3/login')
          .reply(200, {flows: [{type: 'm.login.password'}]})
          .post('/_matrix/client/v3/login')
          .times(3)
          .reply(() => {
            const n = issued.push(`syt_token${issued.length + 1}_aB3`)
            return [200, {user_id: USER, access_token: issued[n - 1], device_id: DEVICE, refresh_token: `syr_refresh${n}_cD4`, expires_in_ms: lifetimes[n - 1]}]
          })
          .post('/_matrix/client/v3/logout')
          .times(3)
          .reply(function () {
            loggedOut.push(bearer(this.req.headers.authorization))
            return [200, {}]
          })
        const err = await createSession({name: 'bot', user: USER, homeserver: HS, password: async () => 'pw'}, deps).then(
          () => undefined,
          (e: unknown) => e,
        )
        expectNoCrash(err)
        const raw = deps.memory.items.get(ACCOUNT)
        const kept = raw === undefined ? undefined : raw.startsWith('{') ? JSON.parse(raw).access_token : raw
        for (const token of issued) if (token !== kept) expect(loggedOut, `${token} was stranded`).toContain(token)
        expect(deps.warnings).toEqual([])
        expect(await deps.registry.pending()).toEqual([])
        expectSaneExpiry(raw)
        const [session] = await deps.registry.list()
        if (session?.expiresAt !== undefined) expect(Date.parse(session.expiresAt)).toBeLessThanOrEqual(NOW + TEN_YEARS_MS)
      }),
      RUNS,
    )
  })
})

describe('server numbers: an OAuth device grant', () => {
  it('polls no faster than 1 s and no slower than 60 s (plus slow_down), stops within 30 min, and revokes what it cannot keep', async () => {
    await fc.assert(
      fc.asyncProperty(
        numberField,
        numberField,
        fc.array(fc.constantFrom('pending', 'slow_down'), {maxLength: 4}),
        numberField,
        async (expiresIn, interval, answers, tokenLife) => {
          nock.cleanAll()
          const deps = unitDeps()
          let now = NOW
          deps.now = () => new Date(now)
          const sleeps: number[] = []
          const sleep = async (ms: number) => {
            sleeps.push(ms)
            now += ms
          }
          let polls = 0
          let slowDowns = 0
          const tokens = {access_token: 'mat_access_Xq3LmZ8pW2r', token_type: 'Bearer', refresh_token: 'mar_refresh_Hs5Jk8Lp2', expires_in: tokenLife}
          const revoked: string[] = []
          nock(HS).get('/_matrix/client/v3/login').reply(200, NO_PASSWORD_FLOWS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
          nock(AUTH)
            .post('/oauth2/registration')
            .reply(201, registrationReply({}))
            .post('/oauth2/device')
            .reply(200, {...DEVICE_AUTHORIZATION, expires_in: expiresIn, interval})
            .post('/oauth2/token')
            .times(100_000)
            .reply(() => {
              const answer = answers[polls++]
              if (answer === 'slow_down') slowDowns++
              return answer === undefined ? [200, tokens] : [403, answer === 'pending' ? PENDING : SLOW_DOWN]
            })
            .post('/oauth2/revoke')
            .times(2)
            .reply((_, body) => {
              revoked.push(new URLSearchParams(body as string).get('token') ?? '')
              return [200, {}]
            })
          nock(HS).get('/_matrix/client/v3/account/whoami').reply(200, {user_id: USER, device_id: DEVICE})

          const err = await createSession({name: 'bot', user: USER, homeserver: HS, password: async () => 'pw', sleep, showCode: () => {}}, deps).then(
            () => undefined,
            (e: unknown) => e,
          )
          expectNoCrash(err, (e) => /expired before the sign-in was approved/.test(describeError(e).message))
          for (const ms of sleeps) {
            expect(ms).toBeGreaterThanOrEqual(1000)
            expect(ms).toBeLessThanOrEqual(60_000 + 5000 * slowDowns)
          }
          expect(now - NOW).toBeLessThanOrEqual(30 * 60_000 + 60_000 + 5000 * slowDowns)
          expect(polls).toBeLessThanOrEqual(30 * 60)
          const issued = polls > answers.length
          const raw = deps.memory.items.get(ACCOUNT)
          if (issued && raw === undefined) expect(revoked.sort()).toEqual([tokens.access_token, tokens.refresh_token].sort())
          expect(deps.warnings).toEqual([])
          expectSaneExpiry(raw)
        },
      ),
      RUNS,
    )
  })
})

describe('server numbers: a refresh', () => {
  const OLD = {access: 'mat_oldAccess_1a2B3c', refresh: 'mar_oldRefresh_4d5E6f'}
  const NEW = {access: 'mat_newAccess_7g8H9i', refresh: 'mar_newRefresh_0j1K2l'}

  it.each([
    ['OAuth', 'expires_in'],
    ['Matrix', 'expires_in_ms'],
  ])('%s: stores the new pair whatever lifetime comes with it, and fails no worse than exit 5', async (kind, name) => {
    await fc.assert(
      fc.asyncProperty(numberField, async (life) => {
        nock.cleanAll()
        const deps = unitDeps()
        const expired = new Date(NOW - 1000).toISOString()
        if (kind === 'OAuth') {
          await seedOAuthSession(deps, {userId: USER, deviceId: DEVICE, access: OLD.access, refresh: OLD.refresh, expiresAt: expired})
          nock(AUTH)
            .post('/oauth2/token')
            .reply(200, {access_token: NEW.access, token_type: 'Bearer', refresh_token: NEW.refresh, [name]: life})
        } else {
          const session: Session = {
            name: 'bot',
            userId: USER,
            homeserver: HS,
            deviceId: DEVICE,
            createdAt: '2026-01-01T00:00:00.000Z',
            store: 'keychain',
            auth: 'password',
          }
          await deps.registry.update((sessions) => void sessions.set('bot', session))
          deps.memory.items.set(ACCOUNT, JSON.stringify({access_token: OLD.access, refresh_token: OLD.refresh, expires_at: expired}))
          nock(HS)
            .post('/_matrix/client/v3/refresh')
            .reply(200, {access_token: NEW.access, refresh_token: NEW.refresh, [name]: life})
        }
        const err = await getToken('bot', deps).then(
          () => undefined,
          (e: unknown) => e,
        )
        expectNoCrash(err)
        const raw = deps.memory.items.get(ACCOUNT)!
        // The old refresh token is spent: losing the new one would end the session.
        expect(JSON.parse(raw)).toMatchObject({access_token: NEW.access, refresh_token: NEW.refresh})
        expectSaneExpiry(raw)
      }),
      RUNS,
    )
  })
})

describe('server numbers: examples', () => {
  it('logs out a login whose expires_in_ms is 1e300, exit 5, naming the server and the field', async () => {
    const deps = unitDeps()
    const scope = nock(HS)
      .get('/_matrix/client/v3/login')
      .reply(200, {flows: [{type: 'm.login.password'}]})
      .post('/_matrix/client/v3/login')
      .reply(200, {user_id: USER, access_token: 'syt_first', device_id: DEVICE, expires_in_ms: 1e300})
      .post('/_matrix/client/v3/logout')
      .matchHeader('authorization', 'Bearer syt_first')
      .reply(200, {})
    const err = await createSession({name: 'bot', user: USER, homeserver: HS, password: async () => 'pw'}, deps).catch((e: unknown) => e)
    scope.done()
    expect(describeError(err)).toEqual({
      kind: 'homeserver',
      message:
        'hs.example answered a token lifetime ("expires_in_ms") that is not between 1 ms and 10 years; it does not look like a Matrix homeserver (the new token was logged out)',
    })
    expect(await deps.registry.pending()).toEqual([])
  })

  it.each([
    // A huge interval would overflow Node's timer into a poll a millisecond; a huge expiry would poll for ever.
    [1e300, 2 ** 53, 60_000, 'within 30 minutes'],
    [0.001, 60, 1000, 'within 1 minute'],
    [undefined, 60, 5000, 'within 1 minute'],
    [-3, 60, 5000, 'within 1 minute'],
  ])('polls a device grant whose interval is %s and expires_in %s every %s ms, and stops by itself', async (interval, expiresIn, every, within) => {
    const deps = unitDeps()
    let now = NOW
    deps.now = () => new Date(now)
    const sleeps: number[] = []
    nock(HS).get('/_matrix/client/v3/login').reply(200, NO_PASSWORD_FLOWS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    nock(AUTH)
      .post('/oauth2/registration')
      .reply(201, registrationReply({}))
      .post('/oauth2/device')
      .reply(200, {...DEVICE_AUTHORIZATION, expires_in: expiresIn, interval})
    const polls = nock(AUTH).post('/oauth2/token').times(100_000).reply(403, PENDING)
    const err = await createSession(
      {
        name: 'bot',
        user: USER,
        homeserver: HS,
        password: async () => 'pw',
        showCode: () => {},
        sleep: async (ms) => {
          sleeps.push(ms)
          now += ms
        },
      },
      deps,
    ).catch((e: unknown) => e)
    expect(err).toMatchObject({
      kind: 'loginRefused',
      message: `the code QW7ZKP expired before the sign-in was approved; run create again and approve it ${within}`,
    })
    expect(new Set(sleeps)).toEqual(new Set([every]))
    expect(sleeps.length).toBe(Math.ceil((Math.min(expiresIn, 1800) * 1000) / every))
    expect(polls.pendingMocks()).toHaveLength(1)
  })

  it('keeps the new pair of a refresh whose expires_in is 1e300, then says so with exit 5', async () => {
    const deps = unitDeps()
    await seedOAuthSession(deps, {userId: USER, deviceId: DEVICE, access: 'mat_old', refresh: 'mar_old', expiresAt: new Date(NOW).toISOString()})
    nock(AUTH).post('/oauth2/token').reply(200, {access_token: 'mat_new', token_type: 'Bearer', refresh_token: 'mar_new', expires_in: 1e300})
    const err = await getToken('bot', deps).catch((e: unknown) => e)
    expect(describeError(err)).toEqual({
      kind: 'homeserver',
      message:
        'auth.hs.example answered a token lifetime ("expires_in") that is not between 1 ms and 10 years; it does not follow the Matrix and OAuth 2.0 specifications (the refreshed tokens of session "bot" were kept; run the command again)',
    })
    expect(JSON.parse(deps.memory.items.get(ACCOUNT)!)).toEqual({access_token: 'mat_new', refresh_token: 'mar_new', expires_at: null})
    expect(await getToken('bot', deps)).toBe('mat_new')
  })
})

describe('server lengths: a device authorization', () => {
  it.each([
    ['user_code', 'Q'.repeat(257)],
    ['device_code', 'd'.repeat(8193)],
    ['verification_uri', `${AUTH}/link?${'x'.repeat(8192)}`],
  ])('refuses a %s longer than mxtok shows or sends, exit 5, before it polls', async (name, value) => {
    const deps = unitDeps()
    nock(HS).get('/_matrix/client/v3/login').reply(200, NO_PASSWORD_FLOWS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    nock(AUTH)
      .post('/oauth2/registration')
      .reply(201, registrationReply({}))
      .post('/oauth2/device')
      .reply(200, {...DEVICE_AUTHORIZATION, [name]: value})
    const err = await createSession({name: 'bot', user: USER, homeserver: HS, password: async () => 'pw', showCode: () => {}}, deps).catch((e: unknown) => e)
    expect(describeError(err)).toEqual({
      kind: 'homeserver',
      message: `auth.hs.example answered without a valid "${name}" field; it does not follow the Matrix and OAuth 2.0 specifications`,
    })
    expect(nock.pendingMocks()).toEqual([])
  })

  it('takes a verification_uri_complete of 3,000 characters, which the prompt shows as a link', async () => {
    const deps = unitDeps()
    const complete = `${AUTH}/link?code=QW7ZKP&state=${'x'.repeat(3000)}`
    nock(HS).get('/_matrix/client/v3/login').reply(200, NO_PASSWORD_FLOWS).get('/_matrix/client/v1/auth_metadata').reply(200, METADATA)
    nock(AUTH)
      .post('/oauth2/registration')
      .reply(201, registrationReply({}))
      .post('/oauth2/device')
      .reply(200, {...DEVICE_AUTHORIZATION, verification_uri_complete: complete})
      .post('/oauth2/token')
      .reply(403, {error: 'access_denied'})
    const shown: string[] = []
    const err = await createSession(
      {
        name: 'bot',
        user: USER,
        homeserver: HS,
        password: async () => 'pw',
        showCode: (p) => void shown.push(p.verificationUriComplete ?? ''),
        sleep: async () => {},
      },
      deps,
    ).catch((e: unknown) => e)
    expect(err).toMatchObject({kind: 'loginRefused'})
    expect(shown).toEqual([complete])
  })
})

describe('server numbers: a rate limit (429)', () => {
  const header = fc.oneof(fc.nat().map(String), fc.constantFrom('0', '99999999999999999999999', '-1', '1.5', 'Wed, 21 Oct 2015 07:28:00 GMT'))

  it('waits no longer in all than the budget, each wait a plain number of seconds in the message', async () => {
    await fc.assert(
      fc.asyncProperty(fc.option(header, {nil: undefined}), numberField, async (retryAfter, retryAfterMs) => {
        nock.cleanAll()
        const sleeps: number[] = []
        nock(HS)
          .get('/x')
          .times(MAX_RATE_LIMIT_RETRIES + 1)
          .reply(
            429,
            {errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests', retry_after_ms: retryAfterMs},
            retryAfter === undefined ? {} : {'retry-after': retryAfter},
          )
        const err = await requestJson({method: 'GET', url: new URL(`${HS}/x`)}, {sleep: async (ms) => void sleeps.push(ms)}).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err).toMatchObject({errcode: 'M_LIMIT_EXCEEDED'})
        expect((err as Error).message).toMatch(/^hs\.example is (still )?rate-limiting requests\b.*\b\d{1,6} s\b.*; try again/)
        expect((err as Error).message).not.toMatch(/e\+|NaN|Infinity/)
        for (const ms of sleeps) expect(Number.isFinite(ms) && ms >= 100).toBe(true)
        expect(sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(RATE_LIMIT_BUDGET_MS)
        expect(sleeps.length).toBeLessThanOrEqual(MAX_RATE_LIMIT_RETRIES)
      }),
      RUNS,
    )
  })
})
