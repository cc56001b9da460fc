import {rotateSession} from '../../core/rotate-session.js'
import {usageError} from '../../errors.js'
import {type Session, tokenOwner} from '../../registry/session.js'
import {storeLabel} from '../../store/store-kinds.js'
import type {rotate as command} from '../commands/rotate.js'
import {askYesNo} from '../confirm.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'
import {passwordOf} from '../password.js'

export interface RotateJson {
  name: string
  kind: Session['auth']
  /** null for an admin client's session, whose token is no user's and on no device. */
  userId: string | null
  deviceId: string | null
  homeserver: string
  rotatedAt: string
  /** False where the device was made again (its end-to-end keys gone), or where the token is on none (an admin login). */
  deviceKept: boolean
}

export async function rotate({args, flags}: Pick<Input<typeof command>, 'args' | 'flags'>, io: Io): Promise<Outcome<RotateJson>> {
  const passwordStdin = flags['password-stdin'] === true
  const {
    session: s,
    rotatedAt,
    deviceKept,
  } = await rotateSession(
    {
      name: args.name,
      as: flags.as,
      expires: flags.expires,
      password: (userId) => passwordOf(userId, passwordStdin, io)(),
      confirmDeviceReset: async (p) => {
        if (flags.yes) return true
        const what = `device ${p.deviceId} of ${p.userId} is logged out and made again, which deletes its end-to-end encryption keys`
        // Standard input carrying the password, or no terminal at all: nobody to ask.
        if (io.json || !io.stdin.isTTY || passwordStdin) throw usageError(`not rotating "${p.name}" without confirmation: ${what}; pass --yes`)
        return askYesNo(io.stdin, io.stderr, `Rotating "${p.name}": ${what} (an encrypted bot loses them). Go on? [y/N] `)
      },
    },
    io.deps(),
  )
  const device =
    s.auth === 'admin'
      ? 'no device (admin login)'
      : s.auth === 'client'
        ? `no device (admin client ${s.oauth.clientId})`
        : deviceKept
          ? `device ${s.deviceId} kept`
          : `device ${s.deviceId} made again`
  io.log(`Rotated session "${s.name}": new token stored in the ${storeLabel(s.store)}, old one ended; ${device}`)
  if (s.auth === 'admin' || s.auth === 'personal') io.log(`  expires     ${s.expiresAt ?? 'never'}`)
  return done({name: s.name, kind: s.auth, ...tokenOwner(s), homeserver: s.homeserver, rotatedAt, deviceKept})
}
