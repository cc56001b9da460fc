import {type MoveResult, moveSession} from '../../core/move-session.js'
import {storeLabel} from '../../store/store-kinds.js'
import type {move as command} from '../commands/move.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'

export async function move({args, flags}: Pick<Input<typeof command>, 'args' | 'flags'>, io: Io): Promise<Outcome<MoveResult>> {
  const result = await moveSession({name: args.name, to: flags.to}, io.deps())
  io.log(`Moved the token of "${result.name}" from the ${storeLabel(result.from)} to the ${storeLabel(result.to)}`)
  return done(result)
}
