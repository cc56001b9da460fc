/** What completion needs to know of each command, read from the command definitions. */
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

/** The subset of an oclif command (as loaded from the manifest) that completion reads. */
export interface CommandDefinition {
  id: string
  hidden?: boolean
  summary?: string
  description?: string
  strict?: boolean
  flags: Record<
    string,
    {name: string; type: 'boolean' | 'option'; char?: string; options?: readonly string[]; hidden?: boolean; summary?: string; description?: string}
  >
  args: Record<string, {name: string}>
}

// create and import take a new name: offering the existing ones would invite overwriting one.
const NEW_NAME = new Set(['create', 'import'])

/** The first clause of a description: what fits beside a completion candidate. */
const brief = (text = '') => text.split(/[;:.(]\s|\n/)[0].trim()

export function completionSpec(commands: readonly CommandDefinition[]): CompletionCommand[] {
  return commands
    .filter((c) => !c.hidden && !c.id.includes(':'))
    .map(
      (c): CompletionCommand => ({
        id: c.id,
        summary: brief(c.summary ?? c.description),
        flags: Object.values(c.flags)
          .filter((f) => !f.hidden)
          .map((f) => ({
            name: f.name,
            char: f.char,
            value: f.type === 'option',
            options: f.options ? [...f.options] : undefined,
            summary: brief(f.summary ?? f.description),
          })),
        sessions: !('name' in c.args) || NEW_NAME.has(c.id) ? 'none' : c.strict === false && c.id !== 'exec' ? 'many' : 'one',
        rest: c.id === 'exec',
      }),
    )
    .sort((a, b) => (a.id < b.id ? -1 : 1))
}

/** Every flag that takes a value, in any command: the word after one is never a session name. */
export const valueFlags = (spec: readonly CompletionCommand[]) =>
  [...new Set(spec.flatMap((c) => c.flags.filter((f) => f.value).flatMap((f) => [`--${f.name}`, ...(f.char ? [`-${f.char}`] : [])])))].sort()
