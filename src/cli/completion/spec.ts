import {allFlags, type CommandDeclaration} from '../declaration.js'

/** What completion needs to know of each command, read from the command declarations. */
export interface CompletionFlag {
  name: string
  char?: string
  /** Takes a value: the next word is that value, not a flag or an argument. */
  value: boolean
  /** The values it accepts, when they are a fixed list (--store keychain|file). */
  options?: string[]
  summary: string
}

export interface CompletionCommand {
  id: string
  summary: string
  flags: CompletionFlag[]
  /** Which arguments are existing session names: none, the first only, or all of them (verify). */
  sessions: 'none' | 'one' | 'many'
  /** Takes a command line after "--" (exec). */
  rest: boolean
}

/** The first clause of a description: what fits beside a completion candidate. */
const brief = (text = '') => text.split(/[;:.(]\s|\n/)[0].trim()

export function completionSpec(commands: readonly CommandDeclaration[]): CompletionCommand[] {
  return commands
    .map((c): CompletionCommand => {
      const names = Object.values(c.args)
      return {
        id: c.id,
        summary: brief(c.summary),
        flags: Object.entries(allFlags(c)).map(([name, f]) => ({
          name,
          char: f.char,
          value: f.type !== 'boolean',
          options: f.type === 'string' && f.options ? [...f.options] : undefined,
          summary: brief(f.description),
        })),
        sessions: !names[0]?.session ? 'none' : c.variadic ? 'many' : 'one',
        rest: c.rest === true,
      }
    })
    .sort((a, b) => (a.id < b.id ? -1 : 1))
}

/** Every flag that takes a value, in any command: the word after one is never a session name. */
export const valueFlags = (spec: readonly CompletionCommand[]) =>
  [...new Set(spec.flatMap((c) => c.flags.filter((f) => f.value).flatMap((f) => [`--${f.name}`, ...(f.char ? [`-${f.char}`] : [])])))].sort()
