import {commands} from './commands/index.js'
import {closest} from './did-you-mean.js'

/** What a command accepts, to word a parse error and suggest what was meant. */
export interface CommandShape {
  /** "list", "token"… */
  id: string
  /** Long flag names without "--". */
  flags: string[]
  /** Positional arguments, as named in usage (NAME). */
  args: string[]
}

interface OclifParseError extends Error {
  flags?: string[]
  args?: ({name: string} | string)[]
}

const help = (shape: CommandShape) => `see "mxtok ${shape.id} --help"`

/**
 * oclif's parse errors, which read like internals ("Parsing --inactive-days Expected an integer…",
 * "Missing 1 required arg: name  session name"), as one line that says what to type instead.
 * Returns undefined for an error that is not one of them.
 */
export function describeParseError(error: OclifParseError, shape: CommandShape): string | undefined {
  const text = error.message.replace(/\s*\n\s*See more help with --help$/, '')
  const flagName = (flag: string) => flag.replace(/^--?/, '').replace(/=.*$/s, '')

  if (error.constructor.name === 'NonExistentFlagsError' || /^Nonexistent flags?: /.test(text)) {
    const given = error.flags ?? text.replace(/^Nonexistent flags?: /, '').split(', ')
    return given
      .map((flag) => {
        const guess = closest(flagName(flag), shape.flags)
        return guess ? `unknown flag ${flag}: did you mean --${guess}?` : `unknown flag ${flag} (${help(shape)} for the flags)`
      })
      .join('; ')
  }
  const missingArgs = /^Missing \d+ required args?/.exec(text)
  if (missingArgs) {
    const names = (error.args ?? []).map((a) => (typeof a === 'string' ? a : a.name).toUpperCase())
    return `missing ${names.join(' ') || 'an argument'}; usage: mxtok ${shape.id} ${shape.args.join(' ')}`.trimEnd()
  }
  const unexpected = /^Unexpected arguments?: (.*)$/s.exec(text)
  if (unexpected) {
    const usage = shape.args.length === 0 ? `mxtok ${shape.id} takes no argument` : `usage: mxtok ${shape.id} ${shape.args.join(' ')}`
    return `unexpected argument ${unexpected[1]}; ${usage}`
  }
  const option = /^Expected --([^=]+)=(.*) to be one of: (.*)$/s.exec(text)
  if (option) {
    const [, name, value, choices] = option
    const guess = closest(value, choices.split(', '))
    return `--${name} must be one of ${choices}, not "${value}"${guess ? `: did you mean ${guess}?` : ''}`
  }
  const parsing = /^Parsing --(\S+)\s+(.*)$/s.exec(text)
  if (parsing) {
    const [, name, why] = parsing
    const integer = /^Expected an integer but received: (.*)$/s.exec(why)
    if (integer) return `--${name} needs a whole number, not "${integer[1]}"`
    const bound = /^Expected an integer (greater|less) than or equal to (-?\d+) but received: (.*)$/s.exec(why)
    if (bound) return `--${name} must be ${bound[1] === 'greater' ? 'at least' : 'at most'} ${bound[2]}, not "${bound[3]}"`
    return `--${name}: ${why}`
  }
  const expects = /^Flag --(\S+) expects a value$/.exec(text)
  if (expects) return `--${expects[1]} needs a value (${help(shape)})`
  const required = /Missing required flag (\S+)/.exec(text)
  if (required) return `--${required[1]} is required (${help(shape)})`
  const together = /--([\w-]+)(?:=\S*)? cannot also be provided when using --([\w-]+)/.exec(text)
  if (together) return `--${together[1]} and --${together[2]} cannot be used together`
  return undefined
}

/** The words that name a command: the declared ones, and oclif's help. */
export const COMMAND_IDS: readonly string[] = [...commands.map((c) => c.id), 'help']

/** `mxtok lst`: the command meant, or the list to choose from. */
export function unknownCommandMessage(id: string): string {
  if (id.startsWith('-')) {
    const flag = closest(id.replace(/^-+/, ''), ['help', 'version'])
    return `unknown flag ${id}${flag ? `: did you mean --${flag}?` : ''} (a command comes first: "mxtok --help" lists them)`
  }
  const guess = closest(id, COMMAND_IDS)
  return guess ? `unknown command "${id}": did you mean "mxtok ${guess}"?` : `unknown command "${id}" ("mxtok --help" lists the commands)`
}
