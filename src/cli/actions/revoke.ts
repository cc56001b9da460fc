import {type RevokeResult, revokeSession} from '../../core/revoke-session.js'
import type {revoke as command} from '../commands/revoke.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'

export async function revoke({args, flags}: Pick<Input<typeof command>, 'args' | 'flags'>, io: Io): Promise<Outcome<RevokeResult>> {
  const result = await revokeSession({name: args.name, localOnly: flags['local-only'], as: flags.as}, io.deps())
  if (result.clientId !== undefined) {
    if (result.revokedOnServer)
      io.log(`Revoked session "${result.name}": the access token of admin client ${result.clientId} revoked, and forgotten with its secret`)
    else io.warn(`forgot session "${result.name}" locally only: its access token may still work until it expires (minutes)`)
  } else if (result.revokedOnServer) io.log(`Revoked session "${result.name}": device ${result.deviceId} logged out and forgotten`)
  else io.warn(`forgot session "${result.name}" locally only: its token may still work until device ${result.deviceId} of ${result.userId} is deleted`)
  return done(result)
}
