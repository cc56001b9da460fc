import {Help} from '@oclif/core/help'
import {MxtokError} from '../errors.js'
import {unknownCommandMessage} from './parse-error.js'
import {reportError} from './report-error.js'

/** oclif's help, except for a command that does not exist (`mxtok help lst`, `mxtok lst --help`): mxtok's one line, with a suggestion. */
export default class MxtokHelp extends Help {
  async showHelp(argv: string[]): Promise<void> {
    try {
      await super.showHelp(argv)
    } catch (error) {
      const unknown = /^Command (\S+) not found\.$/.exec((error as Error)?.message ?? '')
      if (!unknown) throw error
      process.exitCode = reportError(new MxtokError('usage', unknownCommandMessage(unknown[1].split(':')[0])), false)
    }
  }
}
