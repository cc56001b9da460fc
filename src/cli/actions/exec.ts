import {DEFAULT_RESTART, execSession} from '../../core/exec-session.js'
import {usageError} from '../../errors.js'
import type {exec as command} from '../commands/exec.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import type {Outcome} from '../outcome.js'

/** `argv`: the positional arguments before "--"; `rest`: the command after it. */
export async function exec({args, flags, argv, rest}: Pick<Input<typeof command>, 'args' | 'flags' | 'argv' | 'rest'>, io: Io): Promise<Outcome<undefined>> {
  if (rest === undefined || argv.length > 1) throw usageError(`write the command after "--": mxtok exec ${args.name} -- CMD [ARGS...]`)
  const restart = flags['no-restart']
    ? undefined
    : {
        signal: flags['stop-signal'] ?? DEFAULT_RESTART.signal,
        graceMs: flags['stop-timeout'] === undefined ? DEFAULT_RESTART.graceMs : flags['stop-timeout'] * 1000,
      }
  const exitCode = await execSession({name: args.name, command: rest, env: io.env, restart}, io.deps())
  return {result: undefined, exitCode}
}
