import {MxtokError} from '../errors.js'
import {AnswerTooLarge, describeFailure, type RawAnswer, send} from '../matrix/transport.js'
import {VaultError, type VaultFailure} from './errors.js'
import type {VaultSettings} from './settings.js'

/** How to reach the server and how long to keep trying. */
export interface VaultEndpoint {
  settings: VaultSettings
  /** One attempt, connect to last body byte. */
  timeoutMs?: number
  /**
   * A request that fails for a passing reason (no answer, 5xx: sealed, no leader, a standby
   * that lost its leader; 412, 429) is tried again until this long after its first attempt, each
   * later attempt within what is left of it (at least 1 s): a call takes at most the longer of
   * this and timeoutMs, and a second.
   */
  retryForMs?: number
  /** Redacted request lines (method, URL, status, time) go here when set. */
  debug?: (line: string) => void
  /** Plain http:// to a host that is not loopback, which the user allowed for this run. */
  allowHttp?: boolean
}

export interface VaultCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE'
  /** The API path after /v1/, its segments already encoded. */
  path: string
  query?: Record<string, string>
  body?: unknown
  /** Absent for the calls that need none: logins, sys/health, sys/leader. */
  token?: string
  /** What a 403 means the token lacks on `path`, for the message (read, create, update, delete, list). */
  capability?: string
  /** Statuses that are answers, not failures: returned as they are, never retried (404 of a read, the statuses of sys/health). */
  answers?: readonly number[]
  /**
   * The X-Vault-Index of this client's last write: a standby that answers reads itself (OpenBao's
   * default on integrated storage) and has not yet applied that write forwards the request to the
   * active node instead of answering from its older state (X-Vault-Inconsistent: forward-active-node).
   */
  index?: string
  /** A bound of its own for the call, its attempts and retries together, for a call that is safe only soon. */
  withinMs?: number
}

export interface VaultAnswer {
  status: number
  /** The JSON object of the answer; {} for an empty one (204). */
  body: Record<string, unknown>
  /** An earlier attempt failed after it may have reached the server: a write may already have landed. */
  mayHaveLanded: boolean
  /** X-Vault-Index of an answer that changed the server's state: the state later calls must see. */
  index?: string
}

export const DEFAULT_TIMEOUT_MS = 30_000
/**
 * A cluster that lost its leader notices within a few seconds with production settings
 * (performance_multiplier 1) and within 5-10 s with OpenBao's default (5), then elects one in
 * well under a second; a sealed node waits for a person. 30 s covers an election on the default
 * settings with room to spare, and is what a homeserver request may take (MXTOK_TIMEOUT).
 */
export const DEFAULT_RETRY_FOR_MS = 30_000
/** A list of a few thousand sessions' metadata stays well under this. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024
/** Backoff from 0.1 s, doubling up to 1 s, each ±20 %: a new leader is used within a second of its election, and a dozen clients retrying at once do not fall into step. */
const FIRST_WAIT_MS = 100
const LONGEST_WAIT_MS = 1000

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** An attempt that failed for a reason that may pass: the error to throw if no attempt is left. */
class Passing extends Error {
  constructor(
    readonly error: VaultError,
    readonly mayHaveLanded: boolean,
    readonly waitMs?: number,
  ) {
    super(error.message)
  }
}

/**
 * One call to the OpenBao/Vault API: the headers of the bao/vault CLIs (X-Vault-Request always,
 * the token and the namespace when there are), one redirect followed (a standby's 307 to the
 * leader; never from https to http), passing failures retried with backoff within the endpoint's
 * bound. Throws VaultError, or MxtokError('usage') for plain http the user did not allow.
 */
export async function callVault(endpoint: VaultEndpoint, call: VaultCall): Promise<VaultAnswer> {
  const retryForMs = Math.min(endpoint.retryForMs ?? DEFAULT_RETRY_FOR_MS, call.withinMs ?? Number.POSITIVE_INFINITY)
  const started = Date.now()
  let mayHaveLanded = false
  for (let attempt = 0; ; attempt++) {
    try {
      const timeoutMs = Math.min(endpoint.timeoutMs ?? DEFAULT_TIMEOUT_MS, call.withinMs ?? Number.POSITIVE_INFINITY)
      const left = retryForMs - (Date.now() - started)
      const answer = await attemptCall(endpoint, call, attempt === 0 ? timeoutMs : Math.min(timeoutMs, Math.max(1000, left)))
      return {...answer, mayHaveLanded}
    } catch (error) {
      if (!(error instanceof Passing)) throw error
      mayHaveLanded ||= error.mayHaveLanded
      const backoff = Math.min(LONGEST_WAIT_MS, FIRST_WAIT_MS * 2 ** attempt) * (0.8 + Math.random() * 0.4)
      const wait = Math.max(backoff, error.waitMs ?? 0)
      if (Date.now() + wait - started > retryForMs) throw attempt === 0 ? error.error : retriedFor(error.error, Date.now() - started)
      await sleepFor(wait)
    }
  }
}

type Answer = Omit<VaultAnswer, 'mayHaveLanded'>

async function attemptCall(endpoint: VaultEndpoint, call: VaultCall, timeoutMs: number): Promise<Answer> {
  const {settings} = endpoint
  const headers: Record<string, string> = {accept: 'application/json', 'x-vault-request': 'true'}
  if (call.token) headers['x-vault-token'] = call.token
  if (settings.namespace) headers['x-vault-namespace'] = settings.namespace
  // Only with an index to wait for: before this run's first write there is none, and a standby
  // answers as its server is set (disable_standby_reads = true: from the active node, always).
  if (call.index) {
    headers['x-vault-index'] = call.index
    headers['x-vault-inconsistent'] = 'forward-active-node'
  }
  let payload: string | undefined
  if (call.body !== undefined) {
    headers['content-type'] = 'application/json'
    payload = JSON.stringify(call.body)
  }
  const query = call.query ? `?${new URLSearchParams(call.query)}` : ''
  let url = new URL(`${settings.address.href.replace(/\/$/, '')}/v1/${call.path}${query}`)
  const host = settings.address.host
  for (let hop = 0; ; hop++) {
    const began = performance.now()
    let res: RawAnswer
    try {
      res = await send({
        method: call.method,
        url,
        headers,
        body: payload,
        timeoutMs,
        maxBodyBytes: MAX_ANSWER_BYTES,
        allowHttp: endpoint.allowHttp,
        tls: settings.tls,
      })
    } catch (error) {
      endpoint.debug?.(`${call.method} ${url.href} failed after ${elapsed(began)}`)
      if (error instanceof MxtokError) throw error
      if (error instanceof AnswerTooLarge) {
        throw new VaultError(
          'refused',
          0,
          `${where(host)} sent an answer larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB to ${call.method} ${call.path}; refusing to read it`,
        )
      }
      const failure = describeFailure(error)
      // After a standby's redirect, the standby may have forwarded part of the request already.
      throw new Passing(unreachable(host, failure, timeoutMs, error), hop > 0 || !failure.notSent)
    }
    endpoint.debug?.(`${call.method} ${url.href} ${res.status} ${elapsed(began)}`)

    const location = res.header('location')
    if ([301, 302, 307, 308].includes(res.status) && location) {
      const next = new URL(location, url)
      if (hop > 0)
        throw new VaultError(
          'refused',
          res.status,
          `${where(host)} redirected ${call.path} more than once (last to ${next.host}); check the cluster's api_addr settings`,
        )
      if (url.protocol === 'https:' && next.protocol !== 'https:') {
        throw new VaultError(
          'refused',
          res.status,
          `${where(host)} redirected ${call.path} to ${next.origin}, without TLS; refusing to send the token there — check the cluster's api_addr settings`,
        )
      }
      url = next
      continue
    }
    return interpret(res, call, host)
  }
}

function interpret(res: RawAnswer, call: VaultCall, host: string): Answer {
  let body: Record<string, unknown> = {}
  const text = res.text.trim()
  if (text) {
    try {
      const parsed: unknown = JSON.parse(text)
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>
    } catch {
      // A proxy's HTML page: the status says enough below.
    }
  }
  const status = res.status
  if ((status >= 200 && status < 300) || call.answers?.includes(status)) {
    const index = res.header('x-vault-index')
    return index ? {status, body, index} : {status, body}
  }
  const said = serverErrors(body)
  if (status === 503 || (status === 500 && /not active|no active|active cluster node/i.test(said))) {
    const sealed = /sealed/i.test(said)
    const reason: VaultFailure = sealed ? 'sealed' : 'noLeader'
    const message = sealed
      ? `${where(host)} is sealed; unseal it (bao operator unseal) and run again`
      : `${where(host)} has no active node: its cluster is electing a leader or has lost its quorum (${said || `HTTP ${status}`}); check the cluster (bao operator raft list-peers) and run again`
    // The request reached a node, which may have forwarded it to a leader that then went away,
    // after the leader had replicated it: the next leader then commits it.
    throw new Passing(new VaultError(reason, status, message), true)
  }
  if (status >= 500 && status !== 501) throw new Passing(refused(host, call, status, said), true)
  if (status === 412 || status === 429) throw new Passing(refused(host, call, status, said), false, retryAfterMs(res))
  if (status === 403) throw deniedError(host, call.path, call.capability ?? call.method, said)
  if (status === 404) throw new VaultError('notFound', 404, `${call.path} does not exist on ${host}${said ? ` (${said})` : ''}`)
  throw refused(host, call, status, said)
}

/** A 403: the path and what the token may not do there. The client tells a bad token apart (lookup-self). */
export function deniedError(host: string, path: string, capability: string, said: string): VaultError {
  return new VaultError(
    'denied',
    403,
    `${where(host)} denied ${capability} on ${path} (${said || 'permission denied'}): the token's policies lack the "${capability}" capability there; ask for it, or use another token`,
  )
}

/** An answer that is neither a success nor one of the cases above, with what the server said. */
export function refused(host: string, call: Pick<VaultCall, 'method' | 'path'>, status: number, said: string): VaultError {
  return new VaultError('refused', status, `${where(host)} answered HTTP ${status} to ${call.method} ${call.path}${said ? `: ${said}` : ''}`)
}

/** `{"errors": [...]}` as one line; OpenBao wraps some in "1 error occurred:\n\t* ...". */
export function serverErrors(body: Record<string, unknown>): string {
  const errors = Array.isArray(body.errors) ? body.errors.filter((e): e is string => typeof e === 'string') : []
  return errors
    .map((e) => e.replace(/^\d+ errors? occurred:/, '').replace(/^\s*\*\s*/gm, ''))
    .join('; ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300)
}

function unreachable(host: string, failure: ReturnType<typeof describeFailure>, timeoutMs: number, cause: unknown): VaultError {
  if (failure.timedOut)
    return new VaultError('unreachable', 0, `${where(host)} did not answer within ${Math.round(timeoutMs / 1000)} s; check that it is up`, {cause})
  if (failure.tls) {
    return new VaultError(
      'unreachable',
      0,
      `TLS failed for ${where(host)} (${failure.detail}); set BAO_CACERT (or VAULT_CACERT) to the CA that signed its certificate`,
      {cause},
    )
  }
  return new VaultError('unreachable', 0, `cannot reach ${where(host)} (${failure.detail}); check BAO_ADDR (or VAULT_ADDR) and that the server is up`, {cause})
}

/** The same failure, saying for how long it was tried. */
const retriedFor = (error: VaultError, ms: number) =>
  new VaultError(error.reason, error.status, `${error.message} (tried for ${Math.round(ms / 1000)} s)`, {cause: error})

function retryAfterMs(res: RawAnswer): number | undefined {
  const header = res.header('retry-after')?.trim()
  return header && /^\d+$/.test(header) ? Number(header) * 1000 : undefined
}

const where = (host: string) => `OpenBao/Vault at ${host}`
const elapsed = (began: number) => `${Math.round(performance.now() - began)}ms`
