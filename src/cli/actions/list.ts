import {listSessions} from '../../core/list-sessions.js'
import {listJson, renderList} from '../../output/list-view.js'
import type {Io} from '../io.js'

export type ListJson = ReturnType<typeof listJson>

export async function list({flags}: {flags: {offline?: boolean}}, io: Io): Promise<ListJson> {
  const report = await listSessions({offline: flags.offline}, io.deps())
  for (const problem of report.problems) io.warn(problem)
  if (!io.json) io.log(renderList(report, flags.offline === true, io))
  return listJson(report)
}
