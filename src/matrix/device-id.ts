import {createHash} from 'node:crypto'
import {DEVICE_ID_PREFIX} from './device-id-prefix.js'

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

/** RFC 4648 base32, uppercase, no padding. */
export function base32(bytes: Uint8Array): string {
  let out = ''
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += BASE32[(buffer >>> (bits - 5)) & 31]
      bits -= 5
    }
    buffer &= (1 << bits) - 1
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31]
  return out
}

/**
 * The device ID a session gets unless one is given: the same user and name give the same
 * device on every machine, so re-creating a session reuses its device instead of adding one.
 * Rule (also in README): "MXTOK" + first 10 chars of base32(SHA-256("mxtok/v1:<user ID>:<name>")).
 */
export function deriveDeviceId(userId: string, name: string): string {
  const digest = createHash('sha256').update(`mxtok/v1:${userId}:${name}`, 'utf8').digest()
  return `${DEVICE_ID_PREFIX}${base32(digest).slice(0, 10)}`
}

// The spec's grammar for opaque identifiers, which device IDs are.
const DEVICE_ID = /^[A-Za-z0-9._~-]{1,255}$/

/** True for a device ID by the spec's grammar: anything else from a server is not stored or shown as one. */
export const isDeviceId = (text: string) => DEVICE_ID.test(text)
