import * as Args from '@oclif/core/args'
import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {bashScript} from '../cli/completion/bash.js'
import {fishScript} from '../cli/completion/fish.js'
import {completionInstructions, SHELLS, type Shell} from '../cli/completion/instructions.js'
import {completionSpec} from '../cli/completion/spec.js'
import {zshScript} from '../cli/completion/zsh.js'
import {done} from '../cli/outcome.js'
import {usageError} from '../errors.js'

export default class Autocomplete extends BaseCommand {
  static summary = 'Set up shell completion of commands, flags and session names (bash, zsh, fish)'
  static description =
    'Without --script, says how to turn completion on; with it, prints the completion script for the shell. Session names are read from the registry at each TAB, so the script never needs regenerating for them.'
  static examples = [
    '<%= config.bin %> autocomplete',
    'eval "$(<%= config.bin %> autocomplete --script bash)"',
    '<%= config.bin %> autocomplete --script fish > ~/.config/fish/completions/mxtok.fish',
  ]
  static enableJsonFlag = false

  static args = {
    shell: Args.string({description: 'the shell: bash, zsh or fish', options: [...SHELLS], ignoreStdin: true}),
  }

  static flags = {
    script: Flags.boolean({description: 'print the completion script itself (needs SHELL)'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Autocomplete)
    const shell = args.shell as Shell | undefined
    await this.act(flags, async (io) => {
      if (!flags.script) io.log(completionInstructions(shell))
      else if (!shell) throw usageError('name the shell: mxtok autocomplete --script bash (or zsh, fish)')
      else io.log({bash: bashScript, zsh: zshScript, fish: fishScript}[shell](completionSpec(this.config.commands)).trimEnd().split('\n'))
      return done(undefined)
    })
  }
}
