import {deriveDeviceId} from '../matrix/device-id.js'

/**
 * The device a create given a bare localpart logs in to first, only to learn the full user ID from
 * the answer: the session's device ID is derived from that ID, and the server name in it need not
 * be the homeserver's host. Fixed for a localpart, homeserver and name, so a run killed before it
 * logs this device out leaves one device, which the next run's probe clears.
 */
export function probeDeviceId(localpart: string, homeserver: string, name: string): string {
  // No user ID starts with "probe:", so no session's device can share this ID.
  return deriveDeviceId(`probe:${localpart}@${homeserver}`, name)
}
