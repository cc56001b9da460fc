import {usageError} from '../errors.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readToken} from './find-session.js'

/** Synapse's limit (M_TOO_LARGE beyond it), counted in code points as Synapse counts. */
export const MAX_DEVICE_NAME_LENGTH = 100

export interface RenameResult {
  name: string
  userId: string
  deviceId: string
  displayName: string
}

/** Sets the display name of a session's device, as other clients of the account see it. */
export async function renameDevice(opts: {name: string; deviceName: string}, deps: Deps): Promise<RenameResult> {
  const length = [...opts.deviceName].length
  if (opts.deviceName.trim() === '') throw usageError('the device name is empty; give one, e.g. --device-name "telegram bridge"')
  if (length > MAX_DEVICE_NAME_LENGTH) throw usageError(`the device name is ${length} characters long; homeservers accept at most ${MAX_DEVICE_NAME_LENGTH}`)
  const session = await findSession(opts.name, deps)
  if (session.auth === 'admin') {
    throw usageError(
      `session "${session.name}" is an admin login as ${session.userId} (by ${session.admin.by}), whose token is on no device: there is nothing to rename`,
    )
  }
  if (session.auth === 'client')
    throw usageError(
      `session "${session.name}" is admin client ${session.oauth.clientId} of the Matrix Authentication Service, whose token is on no device: there is nothing to rename`,
    )
  const token = await readToken(session, deps)
  if (token === null) throw missingToken(session)
  await deps.client(session.homeserver).setDeviceDisplayName(token, session.deviceId, opts.deviceName)
  return {name: session.name, userId: session.userId, deviceId: session.deviceId, displayName: opts.deviceName}
}
