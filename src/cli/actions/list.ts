import {type ListedSession, listedSession, listSessions} from '../../core/list-sessions.js'
import {listJson, NO_SESSIONS, renderList, renderOtherDevices, SESSION_HEAD, sessionRow} from '../../output/list-view.js'
import {tableLayout} from '../../output/table.js'
import type {list as command} from '../commands/list.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {liveProgress} from '../live/progress.js'
import {done, type Outcome} from '../outcome.js'
import {requestTimeoutMs} from '../timeouts.js'

export type ListJson = ReturnType<typeof listJson>

export async function list({flags}: Pick<Input<typeof command>, 'flags'>, io: Io): Promise<Outcome<ListJson>> {
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
  const layout = tableLayout(
    SESSION_HEAD,
    sessions.map((s) => sessionRow(listedSession(s, undefined), false)),
    io,
  )
  const progress = liveProgress(sessions, {
    stderr: io.stderr,
    columns,
    now: Date.now,
    timeoutMs: requestTimeoutMs(io.env),
    inFlight: io.inFlight,
    verb: 'listing',
  })
  const onAccount = (listed: ListedSession[]) => {
    progress.print(() => io.log(listed.map((s) => layout.row(sessionRow(s, false)))))
    for (const s of listed) {
      printed.add(s.name)
      progress.done(s.name)
    }
  }
  progress.print(() => io.log(layout.top))
  let report
  try {
    report = await listSessions({offline: false}, base, {onAccount})
  } finally {
    progress.end()
  }
  const rest = report.sessions.filter((s) => !printed.has(s.name))
  io.log(rest.map((s) => layout.row(sessionRow(s, false))).concat(layout.bottom, renderOtherDevices(report, io)))
  return report
}
