import type {Agent, AgentOptions, ClientRequest, ClientRequestArgs, IncomingMessage, RequestOptions} from 'node:http'
import type {Socket} from 'node:net'
import type {Duplex} from 'node:stream'
import {MxtokError} from '../errors.js'
import {isLoopbackHost} from './homeserver-url.js'
import {openTunnel, PROXY_FAILED, proxyFor} from './proxy.js'

/** Sockets per origin: commands never have more requests than this in flight. */
export const MAX_SOCKETS = 16
const CONNECT_TIMEOUT_MS = 10_000

export interface RawRequest {
  method: string
  url: URL
  headers: Record<string, string>
  body?: string
  /** Whole-request deadline, connect to last body byte. */
  timeoutMs: number
  maxBodyBytes: number
  /** Plain http:// to a host that is not loopback, which the user allowed for this run. */
  allowHttp?: boolean
  /** Trust and identity other than the defaults (a private CA, a client certificate); requests that share the object share a pool. */
  tls?: TlsSettings
}

/** What node:https takes for the server's trust and the client's identity, PEM text throughout. */
export interface TlsSettings {
  /** Replaces the built-in roots, as a private CA file does for curl and the Vault CLI. */
  ca?: string[]
  cert?: string
  key?: string
  servername?: string
  rejectUnauthorized?: boolean
}

export interface RawAnswer {
  status: number
  header(name: string): string | undefined
  text: string
}

/** Thrown when an answer is larger than the request allows; it is not read further. */
export class AnswerTooLarge extends Error {}

/** What is used of node:http and node:https alike: both fit it as they are. */
interface HttpModule {
  Agent: new (options: AgentOptions) => Agent
  request(url: URL, options: RequestOptions): ClientRequest
}

// node:http rather than fetch: undici, the global fetch's engine, costs 100-250 ms to load and
// compile at every start of a command, which is more than a whole login takes.
const modules = new Map<string, Promise<HttpModule>>()
const agents = new Map<string, Promise<Agent>>()

function moduleFor(url: URL): Promise<HttpModule> {
  let m = modules.get(url.protocol)
  if (!m) {
    m = url.protocol === 'https:' ? import('node:https') : import('node:http')
    modules.set(url.protocol, m)
  }
  return m
}

/**
 * Loads the HTTP stack now, for a command that reads the keychain before its first request: the
 * loading (about 15 ms) then happens while the keychain answers, not after.
 */
export function preloadHttp(url: URL): void {
  void moduleFor(url).catch(() => {})
}

const tlsIds = new WeakMap<TlsSettings, number>()
let lastTlsId = 0

/** One keep-alive pool per scheme, proxy and TLS settings, shared by every request of the process. */
function agentFor(url: URL, tls: TlsSettings | undefined): Promise<Agent> {
  const proxy = proxyFor(url)
  const tlsId = tls === undefined ? 0 : (tlsIds.get(tls) ?? tlsIds.set(tls, ++lastTlsId).get(tls))
  const key = `${url.protocol} ${proxy?.href ?? ''} ${tlsId}`
  let agent = agents.get(key)
  if (!agent) {
    agent = moduleFor(url).then((http) => {
      const pool = new http.Agent({keepAlive: true, maxSockets: MAX_SOCKETS, ...(url.protocol === 'https:' ? tls : undefined)})
      if (proxy) tunnelThrough(pool, proxy, url.protocol === 'https:')
      return pool
    })
    agents.set(key, agent)
  }
  return agent
}

type Connected = (error: Error | null, socket?: Duplex) => void

function tunnelThrough(pool: Agent, proxy: URL, secure: boolean): void {
  const direct = pool.createConnection.bind(pool)
  const viaProxy = (options: ClientRequestArgs, done: Connected) => {
    openTunnel(proxy, String(options.host), Number(options.port)).then(
      (socket) => {
        if (!secure) return done(null, socket)
        // TLS to the homeserver runs inside the tunnel: the proxy sees neither token nor answer.
        const inTunnel = {...options, socket}
        const tls = direct(inTunnel, done)
        if (tls) done(null, tls)
      },
      (error: Error) => done(error),
    )
    return undefined
  }
  // The pool calls back with no socket on an error, which its declared callback type leaves out.
  Object.assign(pool, {createConnection: viaProxy})
}

/** Closes idle keep-alive sockets, which would otherwise keep the process alive. */
export async function closeAgents(): Promise<void> {
  const all = [...agents.values()]
  agents.clear()
  for (const agent of await Promise.allSettled(all)) if (agent.status === 'fulfilled') agent.value.destroy()
}

const timeoutError = () => Object.assign(new Error('timed out'), {name: 'TimeoutError'})

/**
 * Plain http:// only to loopback, unless the user allowed it for this run. Checked here alone,
 * where every request and every redirect hop passes, not where a URL is typed: URLs also come from
 * the registry file, from discovery and from servers' answers (OAuth endpoints), and none of them
 * may decide that a token or password travels in clear. Callers that must refuse before asking
 * the user for a secret ask the same question first (assertSendable in http.ts).
 */
export function refusePlainHttp(url: URL, allowed: boolean | undefined): void {
  if (url.protocol !== 'http:' || allowed || isLoopbackHost(url.hostname)) return
  throw new MxtokError(
    'usage',
    `refusing plain http:// to ${url.host}, which is not on this machine: the token or password would travel unencrypted; use https://, or pass --allow-http (MXTOK_ALLOW_HTTP=1 for a command without it) if this server really has no TLS`,
  )
}

/** Sends one request and reads its whole answer, up to maxBodyBytes. */
export async function send(req: RawRequest): Promise<RawAnswer> {
  refusePlainHttp(req.url, req.allowHttp)
  const [http, agent] = await Promise.all([moduleFor(req.url), agentFor(req.url, req.tls)])
  return new Promise((resolve, reject) => {
    let request: ClientRequest | undefined
    let settled = false
    const timers: NodeJS.Timeout[] = []
    const finish = (error: Error | undefined, answer?: RawAnswer) => {
      if (settled) return
      settled = true
      for (const t of timers) clearTimeout(t)
      if (error) {
        request?.destroy()
        reject(error)
      } else resolve(answer!)
    }
    const headers = {...req.headers, ...(req.body === undefined ? {} : {'content-length': String(Buffer.byteLength(req.body))})}
    request = http.request(req.url, {method: req.method, headers, agent})
    let connected = false
    timers.push(setTimeout(() => finish(timeoutError()), req.timeoutMs))
    timers.push(setTimeout(() => connected || finish(timeoutError()), Math.min(req.timeoutMs, CONNECT_TIMEOUT_MS)))
    request.on('socket', (socket: Socket) => {
      if (!socket.connecting) connected = true
      else socket.once('connect', () => (connected = true))
    })
    request.on('error', (error) => finish(error))
    request.on('response', (res: IncomingMessage) => readAnswer(res, req.maxBodyBytes, finish))
    request.end(req.body)
  })
}

function readAnswer(res: IncomingMessage, cap: number, finish: (error: Error | undefined, answer?: RawAnswer) => void): void {
  if (Number(res.headers['content-length']) > cap) {
    finish(new AnswerTooLarge())
    return
  }
  const chunks: Buffer[] = []
  let size = 0
  res.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > cap) finish(new AnswerTooLarge())
    else chunks.push(chunk)
  })
  res.on('error', (error) => finish(error))
  res.on('end', () => {
    if (size > cap) return
    finish(undefined, {
      status: res.statusCode ?? 0,
      header: (name) => {
        const value = res.headers[name.toLowerCase()]
        return Array.isArray(value) ? value[0] : value
      },
      text: Buffer.concat(chunks).toString('utf8'),
    })
  })
}

export interface SendFailure {
  /** A connect, header or body deadline fired. */
  timedOut: boolean
  /** The server's certificate was refused (or ours was). */
  tls: boolean
  /** Only failures to connect at all prove the server never saw the request. */
  notSent: boolean
  /** The error code (ECONNREFUSED, CERT_HAS_EXPIRED, ...) or, without one, the one-line message. */
  detail: string
}

/** What went wrong with a request that got no answer, for each client to word in its own terms. */
export function describeFailure(error: unknown): SendFailure {
  const cause = (error as {cause?: {code?: string; message?: string}})?.cause
  const code = cause?.code ?? (error as {code?: string})?.code ?? ''
  const message = (cause?.message ?? (error as Error)?.message ?? 'network error').replace(/\s+/g, ' ').trim().slice(0, 300)
  return {
    timedOut: (error as {name?: string})?.name === 'TimeoutError',
    tls: /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code),
    notSent: NOT_CONNECTED.has(code),
    detail: code === PROXY_FAILED ? message : code || message,
  }
}

const NOT_CONNECTED = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', PROXY_FAILED])
