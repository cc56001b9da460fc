import {deriveDeviceId} from '../matrix/device-id.js'
import {isLoopbackHost} from '../matrix/homeserver-url.js'
import {DEFAULT_STORE, type StoreKind} from '../store/store-kinds.js'
import {probeDeviceId} from './probe-device.js'

/**
 * The command that finishes a create that was interrupted: running it again logs in, logs the
 * device out — which deletes it with every token on it, whoever holds them — and logs in once
 * more, so the device ends with one token, the stored one. Only what the original run needed to
 * reach the same device is spelt out; the password is left to the user's usual source.
 */
/** The login to make again: a journal entry's, with the session's name. */
export interface LoginAgain {
  name: string
  userId: string
  deviceId: string
  homeserver: string
  store: StoreKind
}

export function createAgainCommand(p: LoginAgain): string {
  const args = ['mxtok', 'create', p.name, '--user', p.userId, '--homeserver', p.homeserver]
  // A probe's device, or one derived from the ID, comes back by itself; only a chosen one needs saying.
  const chosen = p.deviceId !== deriveDeviceId(p.userId, p.name) && p.deviceId !== probeDeviceId(p.userId, p.homeserver, p.name)
  if (chosen) args.push('--device-id', p.deviceId)
  const url = new URL(p.homeserver)
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) args.push('--allow-http')
  if (p.store !== DEFAULT_STORE) args.push('--store', p.store)
  return args.map(shellWord).join(' ')
}

/** The command that makes a new admin login in place of one that was interrupted. */
export function adminCreateCommand(p: LoginAgain, adminSession: string): string {
  const args = ['mxtok', 'create', p.name, '--user', p.userId, '--as', adminSession]
  if (p.store !== DEFAULT_STORE) args.push('--store', p.store)
  return args.map(shellWord).join(' ')
}

// Historical user IDs may hold any printable ASCII: quoted, the command can still be pasted.
const shellWord = (word: string) => (/^[A-Za-z0-9@%+=:,./_-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`)
