import {LocalErrcode, MatrixError} from './errors.js'

export interface HttpOptions {
  /** Whole-request deadline, connect to last body byte. */
  timeoutMs?: number
  /** Longest single wait a 429 may ask for before we give up. */
  maxRetryWaitMs?: number
  maxRetries?: number
  /** Redacted request lines (method, URL, status, time) go here when set. */
  debug?: (line: string) => void
  /** Replaced in tests so 429 handling does not really wait. */
  sleep?: (ms: number) => Promise<void>
}

export interface JsonRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  url: URL
  token?: string
  body?: unknown
  /** Sent form-encoded instead of `body`, as OAuth 2.0 endpoints (token, device authorization, revocation) expect. */
  form?: Record<string, string>
  /** A 2xx answer may have no body, as RFC 7009 revocation answers; it reads as {}. */
  emptyOk?: boolean
  /** Unauthenticated discovery may follow a redirect to another origin; nothing else may. */
  allowCrossOriginRedirect?: boolean
}

export interface JsonResponse {
  status: number
  body: unknown
}

export const MAX_BODY_BYTES = 1024 * 1024
const MAX_REDIRECTS = 5
const DEFAULT_TIMEOUT_MS = 30_000

// undici costs tens of milliseconds to import: only commands that talk to a server pay for it.
let dispatcherPromise: Promise<{close(): Promise<void>}> | undefined
function dispatcher(timeoutMs: number) {
  dispatcherPromise ??= import('undici').then(
    ({EnvHttpProxyAgent}) =>
      new EnvHttpProxyAgent({
        connect: {timeout: Math.min(timeoutMs, 10_000)},
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        keepAliveTimeout: 10_000,
        connections: 16,
      }),
  )
  return dispatcherPromise
}

/** Lets the process exit promptly: idle keep-alive sockets would otherwise hold it open. */
export async function closeHttp(): Promise<void> {
  const pending = dispatcherPromise
  dispatcherPromise = undefined
  if (pending) await (await pending).close()
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/**
 * Sends one JSON request to a homeserver and returns the parsed 2xx answer, or throws MatrixError.
 * Uses the global fetch (so tests can intercept it) with an undici pool for real traffic.
 */
export async function requestJson(req: JsonRequest, opts: HttpOptions = {}): Promise<JsonResponse> {
  const maxRetries = opts.maxRetries ?? 3
  const maxWait = opts.maxRetryWaitMs ?? 10_000
  const sleep = opts.sleep ?? sleepFor
  for (let attempt = 0; ; attempt++) {
    try {
      return await requestOnce(req, opts)
    } catch (error) {
      if (!(error instanceof MatrixError) || error.errcode !== 'M_LIMIT_EXCEEDED') throw error
      const wait = error.retryAfterMs ?? 1000
      if (attempt >= maxRetries || wait > maxWait) {
        throw new MatrixError({
          status: 429,
          errcode: 'M_LIMIT_EXCEEDED',
          message: `${req.url.host} is rate-limiting requests (asked to wait ${Math.ceil(wait / 1000)} s); try again later`,
          retryAfterMs: wait,
        })
      }
      await sleep(wait)
    }
  }
}

async function requestOnce(req: JsonRequest, opts: HttpOptions): Promise<JsonResponse> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const signal = AbortSignal.timeout(timeoutMs)
  const headers: Record<string, string> = {accept: 'application/json'}
  if (req.token) headers.authorization = `Bearer ${req.token}`
  let payload: string | undefined
  if (req.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    payload = new URLSearchParams(req.form).toString()
  } else if (req.body !== undefined) {
    headers['content-type'] = 'application/json'
    payload = JSON.stringify(req.body)
  }

  const agent = await dispatcher(timeoutMs)
  let url = req.url
  for (let hop = 0; ; hop++) {
    const started = performance.now()
    let res: Response
    try {
      res = await fetch(url, {
        method: req.method,
        headers,
        body: payload,
        redirect: 'manual',
        signal,
        // undici's and @types/node's RequestInit disagree about dispatcher; the value is right.
        dispatcher: agent,
      } as RequestInit)
    } catch (error) {
      opts.debug?.(`${req.method} ${url.href} failed after ${elapsed(started)}`)
      throw networkError(url, error, timeoutMs)
    }
    opts.debug?.(`${req.method} ${url.href} ${res.status} ${elapsed(started)}`)

    if (res.status >= 300 && res.status < 400 && res.headers.has('location')) {
      await res.body?.cancel()
      const next = new URL(res.headers.get('location')!, url)
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

    const text = await readCapped(res, url, timeoutMs)
    if (req.emptyOk && res.ok && text.trim() === '') return {status: res.status, body: {}}
    return interpret(res, url, text)
  }
}

function interpret(res: Response, url: URL, text: string): JsonResponse {
  let body: unknown
  let parsed = false
  try {
    body = JSON.parse(text)
    parsed = true
  } catch {
    // handled below: what matters is whether the status said success
  }
  if (res.ok) {
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
      softLogout: err.soft_logout === true,
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
  throw new MatrixError({
    status: res.status,
    errcode: LocalErrcode.badResponse,
    message: `${url.host} answered HTTP ${res.status} with ${describeBody(res, text)}, not a Matrix error; the homeserver or a proxy in front of it is failing`,
    // A User-Interactive Auth challenge is a 401 without an errcode: its flows and session are here.
    body: err,
  })
}

function retryAfter(res: Response, body: Record<string, unknown> | undefined): number | undefined {
  const header = res.headers.get('retry-after')
  if (header && /^\d+$/.test(header.trim())) return Number(header.trim()) * 1000
  const ms = body?.retry_after_ms
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined
}

async function readCapped(res: Response, url: URL, timeoutMs: number): Promise<string> {
  const declared = Number(res.headers.get('content-length'))
  if (declared > MAX_BODY_BYTES) {
    await res.body?.cancel()
    throw tooLarge(url)
  }
  if (!res.body) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength
      if (size > MAX_BODY_BYTES) {
        await res.body.cancel().catch(() => {})
        throw tooLarge(url)
      }
      chunks.push(chunk)
    }
  } catch (error) {
    if (error instanceof MatrixError) throw error
    throw networkError(url, error, timeoutMs)
  }
  return Buffer.concat(chunks).toString('utf8')
}

const tooLarge = (url: URL) =>
  new MatrixError({status: 0, errcode: LocalErrcode.badResponse, message: `${url.host} sent an answer larger than ${MAX_BODY_BYTES / 1024} KiB; refusing to read it`})

function describeBody(res: Response, text: string): string {
  const type = (res.headers.get('content-type') ?? '').split(';')[0].trim()
  if (!text.trim()) return 'an empty body'
  if (type === 'text/html' || /^\s*</.test(text)) return 'an HTML page'
  return type ? `a ${type} body` : 'a body that is not JSON'
}

function networkError(url: URL, error: unknown, timeoutMs: number): MatrixError {
  const cause = (error as {cause?: {code?: string; message?: string}})?.cause
  const code = cause?.code ?? (error as {code?: string})?.code ?? ''
  const name = (error as {name?: string})?.name ?? ''
  const where = url.host
  if (name === 'TimeoutError' || name === 'AbortError' || code.startsWith('UND_ERR_') && code.includes('TIMEOUT')) {
    return new MatrixError({status: 0, errcode: LocalErrcode.timeout, message: `${where} did not answer within ${Math.round(timeoutMs / 1000)} s; check that the homeserver is up`, cause: error})
  }
  if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return new MatrixError({status: 0, errcode: LocalErrcode.unreachable, message: `TLS failed for ${where} (${code}); the server's certificate is not trusted — fix the certificate or set NODE_EXTRA_CA_CERTS`, notSent: true, cause: error})
  }
  const detail = code || oneLine(cause?.message ?? (error as Error)?.message ?? 'network error')
  // Only failures to connect at all prove the server never saw the request.
  const notSent = NOT_CONNECTED.has(code) || detail === 'bad port'
  return new MatrixError({status: 0, errcode: LocalErrcode.unreachable, message: `cannot reach ${where} (${detail}); check the homeserver URL and your network`, notSent, cause: error})
}

const OAUTH_ERROR = /^[a-z][a-z0-9_]*$/
const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT'])
const elapsed = (started: number) => `${Math.round(performance.now() - started)}ms`
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300)
