import {getToken} from '../../core/get-token.js'
import type {token as command} from '../commands/token.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'

export async function token({args}: Pick<Input<typeof command>, 'args'>, io: Io): Promise<Outcome<undefined>> {
  io.printToken(await getToken(args.name, io.deps()))
  return done(undefined)
}
