import {type CompletionCommand, valueFlags} from './spec.js'

/**
 * A bash completion function: commands, each command's flags, the fixed values of a flag
 * (--store keychain|file), and session names, asked of `mxtok __complete sessions` at each TAB so
 * that they are never stale. After exec's "--", bash's own completion of commands and files.
 */
export function bashScript(spec: readonly CompletionCommand[]): string {
  const flagWords = (c: CompletionCommand) => c.flags.flatMap((f) => [`--${f.name}`, ...(f.char ? [`-${f.char}`] : [])]).join(' ')
  const valueCases = spec.flatMap((c) =>
    c.flags
      .filter((f) => f.value)
      .map(
        (f) =>
          `    "${c.id} --${f.name}"${f.char ? `|"${c.id} -${f.char}"` : ''}) ${f.options ? `COMPREPLY=($(compgen -W "${f.options.join(' ')}" -- "$cur"))` : 'COMPREPLY=()'}; return ;;`,
      ),
  )
  return `# bash completion for mxtok: eval "$(mxtok autocomplete --script bash)" in ~/.bashrc
_mxtok() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [[ $COMP_CWORD -eq 1 ]]; then
    COMPREPLY=($(compgen -W "${spec.map((c) => c.id).join(' ')} --help --version" -- "$cur"))
    return
  fi
  local cmd="\${COMP_WORDS[1]}" i positionals=0 skip=0
  for ((i = 2; i < COMP_CWORD; i++)); do
    local w="\${COMP_WORDS[i]}"
    if [[ $w == -- ]]; then
      if [[ $cmd == exec && $i -eq $((COMP_CWORD - 1)) ]]; then COMPREPLY=($(compgen -c -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
      return
    fi
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      ${valueFlags(spec).join('|')}) skip=1 ;;
      -*) ;;
      *) positionals=$((positionals + 1)) ;;
    esac
  done
  case "$cmd $prev" in
${valueCases.join('\n')}
  esac
  if [[ $cur == -* ]]; then
    case $cmd in
${spec.map((c) => `      ${c.id}) COMPREPLY=($(compgen -W "${flagWords(c)} --help" -- "$cur")) ;;`).join('\n')}
    esac
    return
  fi
  case $cmd in
    ${
      spec
        .filter((c) => c.sessions === 'many')
        .map((c) => c.id)
        .join('|') || '__none'
    }) ;;
    ${
      spec
        .filter((c) => c.sessions === 'one')
        .map((c) => c.id)
        .join('|') || '__none'
    }) ((positionals == 0)) || return ;;
    *) return ;;
  esac
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(command mxtok __complete sessions 2>/dev/null)" -- "$cur"))
}
complete -F _mxtok mxtok
`
}
