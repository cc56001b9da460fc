import {getToken} from '../../core/get-token.js'
import type {Io} from '../io.js'

export async function token({args}: {args: {name: string}}, io: Io): Promise<void> {
  const value = await getToken(args.name, io.deps())
  process.stdout.write(`${value}\n`)
}
