import type {Deps} from '../../core/deps.js'
import {type ListedSession, listedSession, listSessions} from '../../core/list-sessions.js'
import {decodeSecret} from '../../core/session-secret.js'
import type {Device} from '../../matrix/client.js'
import {listJson, NO_SESSIONS, renderList, renderOtherDevices, SESSION_HEAD, sessionRow} from '../../output/list-view.js'
import {tableLayout} from '../../output/table.js'
import type {Session} from '../../registry/registry.js'
import {requestTimeoutMs} from '../timeouts.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'
import {liveProgress} from '../live/progress.js'
import {intercept, watchRequests} from '../live/watch-requests.js'

export type ListJson = ReturnType<typeof listJson>

export async function list({flags}: {flags: {offline?: boolean}}, io: Io): Promise<Outcome<ListJson>> {
  const offline = flags.offline === true
  const live = offline ? undefined : io.live
  const report = live ? await listLive(io, live.columns) : await listSessions({offline}, io.deps())
  for (const problem of report.problems) io.warn(problem)
  if (!io.json && !live) io.log(renderList(report, offline, io))
  return done(listJson(report))
}

/**
 * On a terminal: the rows of each account as soon as its devices arrive, a status line naming the
 * servers still awaited, and what could not be placed early (an account whose devices could not be
 * listed) at the end, with the table of other devices.
 */
async function listLive(io: Io, columns: number): Promise<Awaited<ReturnType<typeof listSessions>>> {
  const base = io.deps()
  const sessions = await base.registry.list()
  if (sessions.length === 0) {
    io.log(NO_SESSIONS)
    return listSessions({offline: false}, base)
  }
  const printed = new Set<string>()
  // Which user a token belongs to, learnt as the store hands it out: a device list says only whose token asked for it.
  const owner = new Map<string, string>()
  const layout = tableLayout(SESSION_HEAD, sessions.map((s) => sessionRow(listedSession(s, undefined), false)), io)
  const shown = (s: Session, devices: Device[]): ListedSession => listedSession(s, devices)
  const onDevices = (homeserver: string, token: string, devices: Device[]) => {
    const userId = owner.get(token)
    const mine = sessions.filter((s) => s.userId === userId && s.homeserver === homeserver && !printed.has(s.name))
    if (mine.length === 0) return
    progress.print(() => io.log(mine.map((s) => layout.row(sessionRow(shown(s, devices), false)))))
    for (const s of mine) {
      printed.add(s.name)
      progress.done(s.name)
    }
  }
  const watched = watchRequests(base, Date.now, onDevices)
  const deps: Deps = {...watched.deps, store: (kind) => intercept(base.store(kind), (name, original) => (name === 'get' ? remember(original, owner) : undefined))}
  const progress = liveProgress(sessions, {stderr: io.stderr, columns, now: Date.now, timeoutMs: requestTimeoutMs(io.env), inFlight: watched.inFlight, verb: 'listing'})
  progress.print(() => io.log(layout.top))
  let report
  try {
    report = await listSessions({offline: false}, deps)
  } finally {
    progress.end()
  }
  const rest = report.sessions.filter((s) => !printed.has(s.name))
  io.log(rest.map((s) => layout.row(sessionRow(s, false))).concat(layout.bottom, renderOtherDevices(report, io)))
  return report
}

/** A store's get that notes whose each token is (the account is "USER/DEVICE"). */
function remember(get: (...args: unknown[]) => unknown, owner: Map<string, string>) {
  return async (...args: unknown[]) => {
    const raw = (await get(...args)) as string | null
    const account = args[0] as string
    if (raw !== null) {
      try {
        owner.set(decodeSecret(raw, 'a session').accessToken, account.slice(0, account.lastIndexOf('/')))
      } catch {
        // A damaged entry: the command itself will say so.
      }
    }
    return raw
  }
}
