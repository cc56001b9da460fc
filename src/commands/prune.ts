import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {allowHttpFlag} from '../cli/shared-flags.js'
import {askYesNo} from '../cli/confirm.js'
import {readPassword} from '../cli/password.js'
import {pruneDevices, type PrunePlan, type PruneResult} from '../core/prune-devices.js'
import {usageError} from '../errors.js'
import {dash, formatTs, renderTable, wantsPrettyOutput} from '../output/table.js'

export default class Prune extends BaseCommand {
  static summary = 'Delete devices of an account that no local session owns: orphans, or devices unused for N days'
  static description = `Deletes devices through User-Interactive Auth with the account's password. Never a device of a local session, nor the one prune itself uses: a live local session's token when there is one, else a temporary login that is logged out at the end. --orphans selects devices named MXTOK… that no local session owns; --inactive-days N those last seen more than N days ago (a device never seen is not selected); both together select devices matching both. Shows the devices first; then asks on a terminal, or needs --yes.`
  static examples = [
    '<%= config.bin %> prune --user @bot:example.com --orphans --dry-run',
    '<%= config.bin %> prune --user @bot:example.com --inactive-days 90   # lists, then asks',
    'printf \'%s\\n\' "$BOT_PASSWORD" | <%= config.bin %> prune --user @bot:example.com --orphans --yes --password-stdin --json',
  ]

  static flags = {
    user: Flags.string({char: 'u', description: 'full Matrix ID (@alice:example.com), or a localpart with --homeserver', required: true}),
    homeserver: Flags.string({description: 'homeserver base URL; default: that of a local session of the user, else discovered'}),
    orphans: Flags.boolean({description: 'select devices named MXTOK… that no local session owns'}),
    'inactive-days': Flags.integer({description: 'select devices last seen more than N days ago', min: 1}),
    'dry-run': Flags.boolean({description: 'only show what would be deleted'}),
    yes: Flags.boolean({char: 'y', description: 'delete without asking (needed when standard input is not a terminal)'}),
    'password-stdin': Flags.boolean({description: 'read the password from the first line of standard input'}),
    'allow-http': allowHttpFlag,
  }

  async run(): Promise<PruneResult> {
    const {flags} = await this.parse(Prune)
    const json = this.jsonEnabled()
    const pretty = wantsPrettyOutput()
    const result = await pruneDevices(
      {
        user: flags.user,
        homeserver: flags.homeserver,
        allowHttp: flags['allow-http'],
        orphans: flags.orphans,
        inactiveDays: flags['inactive-days'],
        dryRun: flags['dry-run'],
        password: () =>
          readPassword({passwordStdin: flags['password-stdin'], env: process.env, stdin: process.stdin, stderr: process.stderr, prompt: `Password for ${flags.user}: `}),
        confirm: async (plan) => {
          if (!json) this.log(await renderPlan(`Devices of ${plan.userId} to delete:`, plan, pretty))
          if (flags.yes) return true
          const count = devices(plan.devices.length)
          // Standard input carrying the password, or no terminal at all: nobody to ask.
          if (json || !process.stdin.isTTY || flags['password-stdin']) throw usageError(`not deleting ${count} of ${plan.userId} without confirmation: pass --yes (or --dry-run to only list them)`)
          return askYesNo(process.stdin, process.stderr, `Delete ${count} of ${plan.userId}? This logs them out for good. [y/N] `)
        },
      },
      this.makeDeps(),
    )
    if (!json) {
      if (result.devices.length === 0) this.log(`No device of ${result.userId} matches; nothing to delete.`)
      else if (result.dryRun) this.log(`${await renderPlan(`Devices of ${result.userId} that prune would delete:`, result, pretty)}\nDry run: ${devices(result.devices.length)} would be deleted; nothing was.`)
      else this.log(`Deleted ${devices(result.deleted.length)} of ${result.userId}.`)
    }
    return result
  }
}

const devices = (n: number) => `${n} device${n === 1 ? '' : 's'}`

async function renderPlan(heading: string, plan: PrunePlan, pretty: boolean): Promise<string> {
  const rows = plan.devices.map((d) => [d.deviceId, dash(d.displayName), dash(d.lastSeenIp), formatTs(d.lastSeenTs)])
  return `${heading}\n${await renderTable(['DEVICE', 'DISPLAY NAME', 'LAST SEEN IP', 'LAST SEEN (UTC)'], rows, pretty)}`
}
