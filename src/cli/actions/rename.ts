import {type RenameResult, renameDevice} from '../../core/rename-device.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'

export async function rename({args, flags}: {args: {name: string}; flags: {'device-name': string}}, io: Io): Promise<Outcome<RenameResult>> {
  const result = await renameDevice({name: args.name, deviceName: flags['device-name']}, io.deps())
  io.log(`Renamed device ${result.deviceId} of session "${result.name}" to "${result.displayName}"`)
  return done(result)
}
