import {type CompletionCommand, valueFlags} from './spec.js'

const q = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

/** A fish completion file: commands, flags, fixed flag values and session names. */
export function fishScript(spec: readonly CompletionCommand[]): string {
  const lines = [
    '# fish completion for mxtok: mxtok autocomplete --script fish > ~/.config/fish/completions/mxtok.fish',
    'function __mxtok_sessions',
    '    command mxtok __complete sessions 2>/dev/null',
    'end',
    '# How many arguments follow the command, leaving out flags and the values they take.',
    'function __mxtok_positionals',
    '    set -l words (commandline -opc)',
    '    set -l n 0',
    '    set -l skip 0',
    '    for w in $words[3..-1]',
    '        if test $skip = 1',
    '            set skip 0',
    `        else if contains -- $w ${valueFlags(spec).join(' ')}`,
    '            set skip 1',
    '        else if not string match -q -- "-*" $w',
    '            set n (math $n + 1)',
    '        end',
    '    end',
    '    echo $n',
    'end',
    'complete -c mxtok -f',
    `complete -c mxtok -n __fish_use_subcommand -l help -d 'show help'`,
    `complete -c mxtok -n __fish_use_subcommand -l version -d 'show the version'`,
  ]
  for (const c of spec) {
    const when = `'__fish_seen_subcommand_from ${c.id}'`
    lines.push(`complete -c mxtok -n __fish_use_subcommand -a ${c.id} -d ${q(c.summary)}`)
    for (const f of c.flags) {
      const value = f.value ? (f.options ? ` -x -a ${q(f.options.join(' '))}` : ' -x') : ''
      lines.push(`complete -c mxtok -n ${when} -l ${f.name}${f.char ? ` -s ${f.char}` : ''}${value} -d ${q(f.summary)}`)
    }
    if (c.sessions === 'many') lines.push(`complete -c mxtok -n ${when} -a '(__mxtok_sessions)'`)
    if (c.sessions === 'one')
      lines.push(`complete -c mxtok -n '__fish_seen_subcommand_from ${c.id}; and test (__mxtok_positionals) -eq 0' -a '(__mxtok_sessions)'`)
  }
  return `${lines.join('\n')}\n`
}
