import {MxtokError} from '../errors.js'
import {JSON_API_ERROR, LocalErrcode, MatrixError} from './errors.js'
import {AnswerTooLarge, closeAgents, describeFailure, type RawAnswer, refusePlainHttp, send} from './transport.js'

export interface HttpOptions {
  /** Whole-request deadline, connect to last body byte. */
  timeoutMs?: number
  /** Told of each wait on a 429 before it begins: a terminal shows it. */
  rateLimited?: (wait: RateLimitWait) => void
  /** Redacted request lines (method, URL, status, time) go here when set. */
  debug?: (line: string) => void
  /**
   * Plain http:// to a host that is not loopback. Set only from what the user said for this run
   * (--allow-http, MXTOK_ALLOW_HTTP=1), never from a URL's own origin: a registry or a server
   * cannot grant it to itself.
   */
  allowHttp?: boolean
  /**
   * Told when a request begins (its redirects and 429 waits included); what it returns, when the
   * request is over, whatever its end. The live status line sees every request of every client here.
   */
  onRequest?: () => () => void
  /** Replaced in tests so 429 handling does not really wait. */
  sleep?: (ms: number) => Promise<void>
}

export interface JsonRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  url: URL
  token?: string
  /** A confidential client's credentials, sent as HTTP Basic (RFC 6749 section 2.3.1), never in the form. */
  client?: {id: string; secret: string}
  body?: unknown
  /** Sent form-encoded instead of `body`, as OAuth 2.0 endpoints (token, device authorization, revocation) expect. */
  form?: Record<string, string>
  /** A 2xx answer may have no body, as RFC 7009 revocation answers; it reads as {}. */
  emptyOk?: boolean
  /** Unauthenticated discovery may follow a redirect to another origin; nothing else may. */
  allowCrossOriginRedirect?: boolean
  /** The largest answer this endpoint can legitimately give; MAX_BODY_BYTES unless it says otherwise. */
  maxBodyBytes?: number
}

/** One wait on a 429, as the listener is told of it. */
export interface RateLimitWait {
  host: string
  waitMs: number
  /** 1 for the first retry of this request. */
  retry: number
  /** What this request has waited on rate limits before this wait. */
  waitedMs: number
  budgetMs: number
}

export interface JsonResponse {
  status: number
  body: unknown
}

export const MAX_BODY_BYTES = 1024 * 1024
/**
 * What one request waits on rate limits in all, as long as the server asks each time: enough for
 * Synapse's default login limit (a burst of 3, then one every 6 s) shared by ten re-creates at once.
 * A request that would wait longer fails with exit 10 (rateLimited).
 */
export const RATE_LIMIT_BUDGET_MS = 180_000
/** A 429 that says nothing of how long to wait (MAS's) is retried after 1, 2, 4 … s, up to this. */
const MAX_GUESSED_WAIT_MS = 30_000
/** A server asking for no wait at all is still not asked again at once. */
const MIN_WAIT_MS = 100
/** Nor more than this many times: a server that asks for tiny waits would otherwise be asked 1,800 times in the budget. */
export const MAX_RATE_LIMIT_RETRIES = 30
const MAX_REDIRECTS = 5
const DEFAULT_TIMEOUT_MS = 30_000

/** Lets the process exit promptly: idle keep-alive sockets would otherwise hold it open. */
export const closeHttp = closeAgents
export {preloadHttp} from './transport.js'

/**
 * Throws now what a request to `url` would throw for its scheme (plain http:// not allowed for the
 * run): for a caller that must refuse before it asks the user for a password or token.
 */
export const assertSendable = (url: URL, opts: HttpOptions): void => refusePlainHttp(url, opts.allowHttp)

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Sends one JSON request to a homeserver and returns the parsed 2xx answer, or throws MatrixError.
 * Requests of the process share one keep-alive pool per scheme (transport.ts).
 */
export async function requestJson(req: JsonRequest, opts: HttpOptions = {}): Promise<JsonResponse> {
  const ended = opts.onRequest?.()
  try {
    return await requestRetrying(req, opts)
  } finally {
    ended?.()
  }
}

async function requestRetrying(req: JsonRequest, opts: HttpOptions): Promise<JsonResponse> {
  const sleep = opts.sleep ?? sleepFor
  const host = req.url.host
  let waitedMs = 0
  for (let retry = 1; ; retry++) {
    try {
      return await requestOnce(req, opts)
    } catch (error) {
      if (!(error instanceof MatrixError) || error.errcode !== 'M_LIMIT_EXCEEDED') throw error
      const waitMs = Math.max(error.retryAfterMs ?? Math.min(1000 * 2 ** (retry - 1), MAX_GUESSED_WAIT_MS), MIN_WAIT_MS)
      if (waitedMs + waitMs > RATE_LIMIT_BUDGET_MS || retry > MAX_RATE_LIMIT_RETRIES) throw outlasted(host, waitMs, waitedMs)
      opts.debug?.(`${host} is rate-limiting: waiting ${waitMs}ms (retry ${retry})`)
      opts.rateLimited?.({host, waitMs, retry, waitedMs, budgetMs: RATE_LIMIT_BUDGET_MS})
      await sleep(waitMs)
      waitedMs += waitMs
    }
  }
}

/** The error once a rate limit outlasts what mxtok waits: exit 10 (see describeError). */
function outlasted(host: string, waitMs: number, waitedMs: number): MatrixError {
  const s = (ms: number) => `${Math.ceil(ms / 1000)} s`
  const budget = s(RATE_LIMIT_BUDGET_MS)
  return new MatrixError({
    status: 429,
    errcode: 'M_LIMIT_EXCEEDED',
    message:
      waitedMs === 0
        ? `${host} is rate-limiting requests and asks to wait ${s(waitMs)}, longer than mxtok waits (${budget}); try again then`
        : `${host} is still rate-limiting requests after mxtok waited ${s(waitedMs)}, and asks for ${s(waitMs)} more (mxtok waits ${budget} at most); try again in a few minutes`,
    retryAfterMs: waitMs,
  })
}

async function requestOnce(req: JsonRequest, opts: HttpOptions): Promise<JsonResponse> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const headers: Record<string, string> = {accept: 'application/json'}
  if (req.token) headers.authorization = `Bearer ${req.token}`
  // RFC 6749 section 2.3.1: each part form-encoded, then joined and base64-encoded.
  if (req.client) headers.authorization = `Basic ${Buffer.from(`${formEncode(req.client.id)}:${formEncode(req.client.secret)}`).toString('base64')}`
  let payload: string | undefined
  if (req.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    payload = new URLSearchParams(req.form).toString()
  } else if (req.body !== undefined) {
    headers['content-type'] = 'application/json'
    payload = JSON.stringify(req.body)
  }

  const deadline = Date.now() + timeoutMs
  let url = req.url
  for (let hop = 0; ; hop++) {
    const started = performance.now()
    let res: RawAnswer
    try {
      res = await send({
        method: req.method,
        url,
        headers,
        body: payload,
        timeoutMs: Math.max(1, deadline - Date.now()),
        maxBodyBytes: req.maxBodyBytes ?? MAX_BODY_BYTES,
        allowHttp: opts.allowHttp,
      })
    } catch (error) {
      opts.debug?.(`${req.method} ${url.href} failed after ${elapsed(started)}`)
      if (error instanceof AnswerTooLarge) throw tooLarge(url, req.maxBodyBytes ?? MAX_BODY_BYTES)
      if (error instanceof MxtokError) throw error
      throw networkError(url, error, timeoutMs)
    }
    opts.debug?.(`${req.method} ${url.href} ${res.status} ${elapsed(started)}`)

    const location = res.header('location')
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, url)
      if (next.origin !== url.origin && !req.allowCrossOriginRedirect) {
        throw new MatrixError({
          status: res.status,
          errcode: LocalErrcode.crossOriginRedirect,
          message: `${url.host} redirected to another origin (${next.origin}); refusing to send credentials there — use the final homeserver URL with --homeserver`,
        })
      }
      if (hop >= MAX_REDIRECTS) {
        throw new MatrixError({status: res.status, errcode: LocalErrcode.badResponse, message: `${url.host} redirected more than ${MAX_REDIRECTS} times`})
      }
      url = next
      continue
    }

    if (req.emptyOk && isOk(res) && res.text.trim() === '') return {status: res.status, body: {}}
    return interpret(res, url)
  }
}

const isOk = (res: RawAnswer) => res.status >= 200 && res.status < 300

function interpret(res: RawAnswer, url: URL): JsonResponse {
  const text = res.text
  let body: unknown
  let parsed = false
  try {
    body = JSON.parse(text)
    parsed = true
  } catch {
    // handled below: what matters is whether the status said success
  }
  if (isOk(res)) {
    if (!parsed || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new MatrixError({
        status: res.status,
        errcode: LocalErrcode.badResponse,
        message: `${url.host} answered HTTP ${res.status} with ${describeBody(res, text)} instead of a Matrix JSON object; check the homeserver URL`,
      })
    }
    return {status: res.status, body}
  }
  const err = parsed && body && typeof body === 'object' ? (body as Record<string, unknown>) : undefined
  if (err && typeof err.errcode === 'string') {
    throw new MatrixError({
      status: res.status,
      errcode: err.errcode,
      message: typeof err.error === 'string' && err.error ? oneLine(err.error) : `${err.errcode} (HTTP ${res.status})`,
      retryAfterMs: retryAfter(res, err),
      body: err,
    })
  }
  // An OAuth 2.0 error (RFC 6749 section 5.2): its `error` code is what matters, whatever the status,
  // since MAS answers a pending device authorization with 403.
  if (err && typeof err.error === 'string' && OAUTH_ERROR.test(err.error)) {
    const description = typeof err.error_description === 'string' && err.error_description ? `: ${oneLine(err.error_description)}` : ''
    throw new MatrixError({status: res.status, errcode: err.error, message: `${url.host} answered ${err.error}${description} (HTTP ${res.status})`})
  }
  if (res.status === 429) {
    throw new MatrixError({status: 429, errcode: 'M_LIMIT_EXCEEDED', message: 'rate limited', retryAfterMs: retryAfter(res, err)})
  }
  // A JSON:API error document, as MAS's admin API answers: its titles say what went wrong, its status which kind.
  const titles =
    err && Array.isArray(err.errors) ? err.errors.flatMap((e) => (typeof e?.title === 'string' && e.title ? [oneLine(e.title)] : [])).slice(0, 3) : []
  if (titles.length > 0) {
    throw new MatrixError({status: res.status, errcode: JSON_API_ERROR, message: `${url.host} answered: ${titles.join(': ')} (HTTP ${res.status})`, body: err})
  }
  throw new MatrixError({
    status: res.status,
    errcode: LocalErrcode.badResponse,
    message: `${url.host} answered HTTP ${res.status} with ${describeBody(res, text)}, not a Matrix error; the homeserver or a proxy in front of it is failing`,
    // A User-Interactive Auth challenge is a 401 without an errcode: its flows and session are here.
    body: err,
  })
}

/**
 * A day: any longer wait a server asks for reads as a day. The wait is only compared with
 * RATE_LIMIT_BUDGET_MS and shown in seconds, so this keeps the message's number plain.
 */
const MAX_RETRY_AFTER_MS = 86_400_000

function retryAfter(res: RawAnswer, body: Record<string, unknown> | undefined): number | undefined {
  const header = res.header('retry-after')
  const ms = header && /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : body?.retry_after_ms
  return typeof ms === 'number' && ms >= 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined
}

const MIB = 1024 * 1024
const tooLarge = (url: URL, cap: number) =>
  new MatrixError({
    status: 0,
    errcode: LocalErrcode.badResponse,
    message: `${url.host} sent an answer larger than ${cap > MIB ? `${cap / MIB} MiB` : `${cap / 1024} KiB`}; refusing to read it`,
  })

function describeBody(res: RawAnswer, text: string): string {
  const type = (res.header('content-type') ?? '').split(';')[0].trim()
  if (!text.trim()) return 'an empty body'
  if (type === 'text/html' || /^\s*</.test(text)) return 'an HTML page'
  return type ? `a ${type} body` : 'a body that is not JSON'
}

function networkError(url: URL, error: unknown, timeoutMs: number): MatrixError {
  const failure = describeFailure(error)
  const where = url.host
  if (failure.timedOut) {
    return new MatrixError({
      status: 0,
      errcode: LocalErrcode.timeout,
      message: `${where} did not answer within ${Math.round(timeoutMs / 1000)} s; check that the homeserver is up`,
      cause: error,
    })
  }
  if (failure.tls) {
    return new MatrixError({
      status: 0,
      errcode: LocalErrcode.unreachable,
      message: `TLS failed for ${where} (${failure.detail}); the server's certificate is not trusted — fix the certificate or set NODE_EXTRA_CA_CERTS`,
      notSent: true,
      cause: error,
    })
  }
  return new MatrixError({
    status: 0,
    errcode: LocalErrcode.unreachable,
    message: `cannot reach ${where} (${failure.detail}); check the homeserver URL and your network`,
    notSent: failure.notSent,
    cause: error,
  })
}

const formEncode = (text: string) => new URLSearchParams({x: text}).toString().slice(2)
const OAUTH_ERROR = /^[a-z][a-z0-9_]*$/
const elapsed = (started: number) => `${Math.round(performance.now() - started)}ms`
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300)
