import {getToken} from '../../core/get-token.js'
import type {Io} from '../io.js'

export async function token({args}: {args: {name: string}}, io: Io): Promise<void> {
  io.printToken(await getToken(args.name, io.deps()))
}
