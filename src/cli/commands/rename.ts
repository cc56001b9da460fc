import {MAX_DEVICE_NAME_LENGTH} from '../../core/rename-device.js'
import {declare, flag} from '../declaration.js'
import {vaultFlag} from '../shared-flags.js'

export const rename = declare({
  id: 'rename',
  summary: "Set the display name of a session's device",
  description: `PUT /devices/{deviceId} with the session's own token. The name is what Element and "mxtok list" show for the device; at most ${MAX_DEVICE_NAME_LENGTH} characters.`,
  examples: ['<%= config.bin %> rename bot --device-name "reminder bot (prod)"', '<%= config.bin %> rename bridge --device-name "telegram bridge" --json'],
  json: true,
  args: {
    name: {description: 'session name', required: true, session: true},
  },
  flags: {
    'device-name': flag.string({description: `new display name of the device (at most ${MAX_DEVICE_NAME_LENGTH} characters)`, required: true}),
    vault: vaultFlag,
  },
})
