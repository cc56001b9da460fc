import {MxtokError} from '../errors.js'
import type {Session} from '../registry/session.js'
import {changedElsewhere} from '../store/store-kinds.js'
import type {Deps} from './deps.js'
import {type LiveToken, missingToken, REFRESH_MARGIN_MS, readLiveToken} from './find-session.js'

/**
 * How often `exec` looks at the registry file: a stat, microseconds. Whatever changes a session on
 * this machine (rotate, create again, revoke, another run's refresh) rewrites the file, so a bot
 * is left with a dead token at most this long, and the store is read only when it has changed.
 */
export const REGISTRY_POLL_MS = 2_000

/**
 * How often a store that others change behind the registry's back (a team's vault) is read: one
 * request per bot every 30 s is nothing to a vault, and a colleague's rotate reaches the bot
 * within that.
 */
export const SHARED_STORE_POLL_MS = 30_000

/** The next check after one that could not read the store or refresh the token: often enough for a token about to die, seldom enough not to hammer a server that is down. */
export const RETRY_MS = 10_000

/** What a check found. */
export type Seen = {kind: 'same'} | {kind: 'changed'; session: Session; token: string} | {kind: 'ended'; error: MxtokError}

const SAME: Seen = {kind: 'same'}

/**
 * Follows a session whose token a running command holds: checked every REGISTRY_POLL_MS, it
 * reads the session again only when the registry changed, when a shared store is due, or when the
 * token is about to expire — it is then refreshed through readLiveToken's locked refresh, as every
 * command refreshes it. Never throws: a failure to read is reported once and tried again, while
 * the command keeps the token it has.
 */
export class SessionWatch {
  private stamp: string
  private dueAt: number
  /** The store held no token at the last check: a revoke deletes it a moment before it forgets the session. */
  private missing = false
  private failing = false

  constructor(
    private readonly name: string,
    session: Session,
    private live: LiveToken,
    private readonly deps: Deps,
  ) {
    this.stamp = deps.registry.stamp()
    this.dueAt = this.nextDue(session, live)
  }

  async check(): Promise<Seen> {
    const now = this.deps.now().getTime()
    const stamp = this.deps.registry.stamp()
    if (stamp === this.stamp && now < this.dueAt) return SAME
    // Taken before reading: a change made while the store is read is seen at the next check.
    this.stamp = stamp
    try {
      const seen = await this.read(now)
      this.failing = false
      return seen
    } catch (error) {
      if (error instanceof MxtokError && error.kind === 'tokenInvalid') return {kind: 'ended', error}
      this.dueAt = now + RETRY_MS
      if (!this.failing) {
        const why = error instanceof MxtokError ? error.message : 'unexpected error'
        this.deps.warn(
          `cannot check session "${this.name}" for a new token (${why}); trying again every ${RETRY_MS / 1000} s, the command keeps its token meanwhile`,
        )
      }
      this.failing = true
      return SAME
    }
  }

  private async read(now: number): Promise<Seen> {
    const session = await this.deps.registry.get(this.name)
    if (!session) {
      return {kind: 'ended', error: new MxtokError('tokenInvalid', `session "${this.name}" was revoked or forgotten; create it again`)}
    }
    const live = await readLiveToken(session, this.deps)
    if (live === null) {
      if (this.missing) return {kind: 'ended', error: missingToken(session)}
      this.missing = true
      this.dueAt = now + REGISTRY_POLL_MS
      return SAME
    }
    this.missing = false
    this.dueAt = this.nextDue(session, live)
    if (live.token === this.live.token) return SAME
    this.live = live
    return {kind: 'changed', session, token: live.token}
  }

  /**
   * The next check without a change to the registry: a shared store's poll, and half the refresh
   * margin before the token expires, when readLiveToken refreshes it — or, for a token that cannot
   * be refreshed, at its end, when the session is over. Never sooner than RETRY_MS, so that a server
   * handing out tokens that live less than the margin does not have the command restarted at every check.
   */
  private nextDue(session: Session, live: LiveToken): number {
    const now = this.deps.now().getTime()
    const due = [Number.POSITIVE_INFINITY]
    if (changedElsewhere(session.store)) due.push(now + SHARED_STORE_POLL_MS)
    if (live.expiresAt !== null) due.push(live.expiresAt - REFRESH_MARGIN_MS / 2)
    if (session.expiresAt !== undefined) due.push(Date.parse(session.expiresAt))
    return Math.max(Math.min(...due), now + RETRY_MS)
  }
}
