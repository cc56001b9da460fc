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
        if (!json) io.log(renderPlan(`Devices of ${plan.userId} to delete:`, plan, io))
        if (flags.yes) return true
        const count = devices(plan.devices.length)
        // Standard input carrying the password, or no terminal at all: nobody to ask.
        if (json || !io.stdin.isTTY || flags['password-stdin'])
          throw usageError(`not deleting ${count} of ${plan.userId} without confirmation: pass --yes (or --dry-run to only list them)`)
        return askYesNo(io.stdin, io.stderr, `Delete ${count} of ${plan.userId}? This logs them out for good. [y/N] `)
      },
      progress: status && ((deleted, total) => status.set(`deleting devices: ${deleted} of ${total} deleted`)),
    },
    io.deps(),
  )
  if (!json) {
    if (result.devices.length === 0) io.log(`No device of ${result.userId} matches; nothing to delete.`)
    else if (result.dryRun)
      io.log([
        ...renderPlan(`Devices of ${result.userId} that prune would delete:`, result, io),
        `Dry run: ${devices(result.devices.length)} would be deleted; nothing was.`,
      ])
    else {
      status?.end()
      io.log(`Deleted ${devices(result.deleted.length)} of ${result.userId}.`)
    }
  }
  return result
}

const devices = (n: number) => `${n} device${n === 1 ? '' : 's'}`

function renderPlan(heading: string, plan: PrunePlan, table: TableOptions): string[] {
  const rows = sortNatural(plan.devices, (d) => d.deviceId).map((d) => [d.deviceId, dash(d.displayName), dash(d.lastSeenIp), formatTs(d.lastSeenTs)])
  return [heading, ...renderTable(['DEVICE', 'DISPLAY NAME', 'LAST SEEN IP', 'LAST SEEN (UTC)'], rows, table)]
}
