import {usageError} from '../../errors.js'
import type {autocomplete as command} from '../commands/autocomplete.js'
import {commands} from '../commands/index.js'
import {bashScript} from '../completion/bash.js'
import {fishScript} from '../completion/fish.js'
import {completionInstructions} from '../completion/instructions.js'
import {completionSpec} from '../completion/spec.js'
import {zshScript} from '../completion/zsh.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'

export async function autocomplete({args, flags}: Pick<Input<typeof command>, 'args' | 'flags'>, io: Io): Promise<Outcome<undefined>> {
  if (!flags.script) io.log(completionInstructions(args.shell))
  else if (!args.shell) throw usageError('name the shell: mxtok autocomplete --script bash (or zsh, fish)')
  else io.log({bash: bashScript, zsh: zshScript, fish: fishScript}[args.shell](completionSpec(commands)).trimEnd().split('\n'))
  return done(undefined)
}
