import {execSession} from '../../core/exec-session.js'
import {usageError} from '../../errors.js'
import type {Io} from '../io.js'
import type {Outcome} from '../outcome.js'

/** `argv`: the positional arguments before "--"; `rest`: the command after it. */
export async function exec({args, argv, rest}: {args: {name: string}; argv: string[]; rest?: string[]}, io: Io): Promise<Outcome<undefined>> {
  if (rest === undefined || argv.length > 1) throw usageError(`write the command after "--": mxtok exec ${args.name} -- CMD [ARGS...]`)
  const exitCode = await execSession({name: args.name, command: rest, env: io.env}, io.deps())
  return {result: undefined, exitCode}
}
