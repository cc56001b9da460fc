import {type RenameResult, renameDevice} from '../../core/rename-device.js'
import type {rename as command} from '../commands/rename.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'

export async function rename({args, flags}: Pick<Input<typeof command>, 'args' | 'flags'>, io: Io): Promise<Outcome<RenameResult>> {
  const result = await renameDevice({name: args.name, deviceName: flags['device-name']}, io.deps())
  io.log(`Renamed device ${result.deviceId} of session "${result.name}" to "${result.displayName}"`)
  return done(result)
}
