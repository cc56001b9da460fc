import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {rename} from '../cli/actions/rename.js'
import {BaseCommand} from '../cli/base-command.js'
import {MAX_DEVICE_NAME_LENGTH} from '../core/rename-device.js'

export default class Rename extends BaseCommand {
  static summary = "Set the display name of a session's device"
  static description =
    `PUT /devices/{deviceId} with the session's own token. The name is what Element and "mxtok list" show for the device; at most ${MAX_DEVICE_NAME_LENGTH} characters.`
  static examples = [
    '<%= config.bin %> rename bot --device-name "reminder bot (prod)"',
    '<%= config.bin %> rename bridge --device-name "telegram bridge" --json',
  ]

  static args = {
    name: Args.string({description: 'session name', required: true, ignoreStdin: true}),
  }

  static flags = {
    'device-name': Flags.string({description: `new display name of the device (at most ${MAX_DEVICE_NAME_LENGTH} characters)`, required: true}),
  }

  async run(): Promise<void> {
    const input = await this.parse(Rename)
    await this.act(input.flags, (io) => rename(input, io))
  }
}
