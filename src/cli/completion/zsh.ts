import type {CompletionCommand, CompletionFlag} from './spec.js'

/** Text inside a single-quoted _arguments spec: quotes closed and reopened, brackets and colons escaped. */
const q = (text: string) => text.replace(/([[\]:\\])/g, '\\$1').replace(/'/g, `'\\''`)

function flagSpec(f: CompletionFlag): string {
  const action = f.value ? `:${q(f.name)}:${f.options ? `(${f.options.join(' ')})` : ' '}` : ''
  const body = `[${q(f.summary)}]${action}`
  return f.char ? `'(-${f.char} --${f.name})'{-${f.char},--${f.name}}'${body}'` : `'--${f.name}${body}'`
}

/** A zsh completion function (compsys): the same knowledge as for bash, with descriptions. */
export function zshScript(spec: readonly CompletionCommand[]): string {
  const args = (c: CompletionCommand) => {
    if (c.sessions === 'many') return [`'*:session:_mxtok_sessions'`]
    if (c.sessions === 'one') return [`':session:_mxtok_sessions'`, ...(c.rest ? [`'*::command line:_normal'`] : [])]
    return []
  }
  return `#compdef mxtok
# zsh completion for mxtok: eval "$(mxtok autocomplete --script zsh)" in ~/.zshrc, after compinit
_mxtok_sessions() {
  local -a sessions
  sessions=(\${(f)"$(command mxtok __complete sessions 2>/dev/null)"})
  _describe -t sessions 'mxtok session' sessions
}
_mxtok() {
  local -a commands
  commands=(
${spec.map((c) => `    '${q(c.id)}:${q(c.summary)}'`).join('\n')}
  )
  if (( CURRENT == 2 )); then
    _describe -t commands 'mxtok command' commands
    return
  fi
  local cmd=\${words[2]}
  shift words
  (( CURRENT-- ))
  case $cmd in
${spec.map((c) => `    ${c.id}) _arguments -s ${[...c.flags.map(flagSpec), `'--help[show help]'`, ...args(c)].join(' ')} ;;`).join('\n')}
  esac
}
compdef _mxtok mxtok
`
}
