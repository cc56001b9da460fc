import {type MoveResult, moveSession} from '../../core/move-session.js'
import {type StoreKind, storeLabel} from '../../store/store-kinds.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'

export async function move({args, flags}: {args: {name: string}; flags: {to: string}}, io: Io): Promise<Outcome<MoveResult>> {
  const result = await moveSession({name: args.name, to: flags.to as StoreKind}, io.deps())
  io.log(`Moved the token of "${result.name}" from the ${storeLabel(result.from)} to the ${storeLabel(result.to)}`)
  return done(result)
}
