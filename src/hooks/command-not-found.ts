import type {Hook} from '@oclif/core/hooks'
import {COMMAND_IDS, unknownCommandMessage} from '../cli/parse-error.js'
import {reportError} from '../cli/report-error.js'
import {MxtokError} from '../errors.js'

/**
 * `mxtok lst` (and `mxtok list extra`, which oclif reads as the command "list extra"): mxtok's one
 * line with a suggestion and exit 2, as JSON under --json, instead of oclif's own message.
 */
const hook: Hook<'command_not_found'> = async (opts) => {
  const [first, ...rest] = opts.id.split(':')
  const message = COMMAND_IDS.includes(first) ? `unexpected argument ${rest.join(' ')}; see "mxtok ${first} --help"` : unknownCommandMessage(first)
  process.exitCode = reportError(new MxtokError('usage', message), (opts.argv ?? []).includes('--json'))
}

export default hook
