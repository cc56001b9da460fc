import type {Hook} from '@oclif/core/hooks'
import {unknownCommandMessage} from '../cli/parse-error.js'
import {reportError} from '../cli/report-error.js'
import {MxtokError} from '../errors.js'

/**
 * `mxtok lst` (and `mxtok list extra`, which oclif reads as the command "list extra"): mxtok's one
 * line with a suggestion and exit 2, as JSON under --json, instead of oclif's own message.
 */
const hook: Hook<'command_not_found'> = async function (opts) {
  const commands = this.config.commands.filter((c) => !c.hidden).map((c) => c.id)
  const [first, ...rest] = opts.id.split(':')
  const message = commands.includes(first) ? `unexpected argument ${rest.join(' ')}; see "mxtok ${first} --help"` : unknownCommandMessage(first, commands)
  process.exitCode = reportError(new MxtokError('usage', message), (opts.argv ?? []).includes('--json'))
}

export default hook
