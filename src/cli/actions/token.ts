import {getToken} from '../../core/get-token.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'

export async function token({args}: {args: {name: string}}, io: Io): Promise<Outcome<undefined>> {
  io.printToken(await getToken(args.name, io.deps()))
  return done(undefined)
}
