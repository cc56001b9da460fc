import {SHELLS} from '../completion/instructions.js'
import {declare, flag} from '../declaration.js'

export const autocomplete = declare({
  id: 'autocomplete',
  summary: 'Set up shell completion of commands, flags and session names (bash, zsh, fish)',
  description:
    'Without --script, says how to turn completion on; with it, prints the completion script for the shell. Session names are read from the registry at each TAB, so the script never needs regenerating for them.',
  examples: [
    '<%= config.bin %> autocomplete',
    'eval "$(<%= config.bin %> autocomplete --script bash)"',
    '<%= config.bin %> autocomplete --script fish > ~/.config/fish/completions/mxtok.fish',
  ],
  json: false,
  args: {
    shell: {description: 'the shell: bash, zsh or fish', options: SHELLS},
  },
  flags: {
    script: flag.boolean({description: 'print the completion script itself (needs SHELL)'}),
  },
})
