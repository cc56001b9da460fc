import {type PrunePlan, type PruneResult, pruneDevices} from '../../core/prune-devices.js'
import {usageError} from '../../errors.js'
import {sortNatural} from '../../output/natural-order.js'
import {dash, formatTs, renderTable, type TableOptions} from '../../output/table.js'
import type {prune as command} from '../commands/prune.js'
import {askYesNo} from '../confirm.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {type StatusLine, statusLine} from '../live/status-line.js'
import {done, type Outcome} from '../outcome.js'
import {passwordOf} from '../password.js'

type PruneFlags = Input<typeof command>['flags']

export async function prune({flags}: Pick<Input<typeof command>, 'flags'>, io: Io): Promise<Outcome<PruneResult>> {
  const status = io.live ? statusLine(io.stderr, io.live.columns) : undefined
  try {
    return done(await pruneAndReport(flags, io, status))
  } finally {
    status?.end()
  }
}

async function pruneAndReport(flags: PruneFlags, io: Io, status: StatusLine | undefined): Promise<PruneResult> {
  const json = io.json
  const result = await pruneDevices(
    {
      user: flags.user,
      homeserver: flags.homeserver,
      orphans: flags.orphans,
      neverSeen: flags['never-seen'],
      inactiveDays: flags['inactive-days'],
      keep: flags.keep,
      as: flags.as,
      dryRun: flags['dry-run'],
      password: passwordOf(flags.user, flags['password-stdin'] === true, io),
      confirm: async (plan) => {
        const w = wordsFor(plan)
        if (!json) io.log(renderPlan(`${w.Things} of ${plan.userId} to ${w.end}:`, plan, io))
        if (flags.yes) return true
        const count = w.count(selected(plan).length)
        // Standard input carrying the password, or no terminal at all: nobody to ask.
        if (json || !io.stdin.isTTY || flags['password-stdin'])
          throw usageError(`not ${w.ending} ${count} of ${plan.userId} without confirmation: pass --yes (or --dry-run to only list them)`)
        return askYesNo(io.stdin, io.stderr, `${w.End} ${count} of ${plan.userId}? This logs them out for good. [y/N] `)
      },
      progress: status && ((done, total) => status.set(`prune: ${done} of ${total} done`)),
    },
    io.deps(),
  )
  if (!json) {
    const w = wordsFor(result)
    const count = selected(result).length
    if (count === 0) io.log(`No ${w.thing} of ${result.userId} matches; nothing to ${w.end}.`)
    else if (result.dryRun)
      io.log([
        ...renderPlan(`${w.Things} of ${result.userId} that prune would ${w.end}:`, result, io),
        `Dry run: ${w.count(count)} would be ${w.ended}; nothing was.`,
      ])
    else {
      status?.end()
      io.log(`${w.Ended} ${w.count('deleted' in result ? result.deleted.length : result.ended.length)} of ${result.userId}.`)
    }
  }
  return result
}

const selected = (plan: PrunePlan) => ('devices' in plan ? plan.devices : plan.sessions)

/** Devices are deleted (Synapse); sessions at MAS are ended. */
function wordsFor(plan: PrunePlan) {
  const [thing, end, ending, ended] = 'devices' in plan ? ['device', 'delete', 'deleting', 'deleted'] : ['session', 'end', 'ending', 'ended']
  const cap = (w: string) => w[0].toUpperCase() + w.slice(1)
  return {thing, Things: cap(`${thing}s`), end, End: cap(end), ending, ended, Ended: cap(ended), count: (n: number) => `${n} ${thing}${n === 1 ? '' : 's'}`}
}

/** Sessions at MAS have no device list behind them: which kind and session each is, and its device if it has one. */
const KIND_LABEL = {compat: 'compat', oauth2: 'OAuth', personal: 'personal'} as const

function renderPlan(heading: string, plan: PrunePlan, table: TableOptions): string[] {
  if ('sessions' in plan) {
    const rows = sortNatural(plan.sessions, (s) => `${s.deviceId ?? ''} ${s.id}`).map((s) => [
      KIND_LABEL[s.kind],
      s.id,
      dash(s.deviceId),
      dash(s.displayName),
      dash(s.lastSeenIp),
      formatTs(s.lastSeenTs),
    ])
    return [heading, ...renderTable(['KIND', 'SESSION', 'DEVICE', 'NAME', 'LAST ACTIVE IP', 'LAST ACTIVE (UTC)'], rows, table)]
  }
  const rows = sortNatural(plan.devices, (d) => d.deviceId).map((d) => [d.deviceId, dash(d.displayName), dash(d.lastSeenIp), formatTs(d.lastSeenTs)])
  return [heading, ...renderTable(['DEVICE', 'DISPLAY NAME', 'LAST SEEN IP', 'LAST SEEN (UTC)'], rows, table)]
}
