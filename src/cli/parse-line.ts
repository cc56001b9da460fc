import {allFlags, type CommandDeclaration, type FlagDeclaration} from './declaration.js'

/**
 * Reads a command line the way oclif would, from the command's declaration, for the plain
 * invocations that make up nearly every run. Anything else — help, an unknown or repeated flag, a
 * missing or invalid value, a value that looks like a flag, a flag that depends on another — is
 * not guessed at: the answer is undefined and oclif itself parses the line and says what is wrong.
 * test/unit/manifest-argv.test.ts holds this to oclif's own parser.
 */
export interface ParsedLine {
  args: Record<string, string | undefined>
  flags: Record<string, string | boolean | number | undefined>
  /** Every positional argument, as oclif's `argv`. */
  argv: string[]
  /** What follows "--", when the command takes it (exec) and the line has one. */
  rest?: string[]
}

export function parseLine(command: CommandDeclaration, line: string[], env: NodeJS.ProcessEnv): ParsedLine | undefined {
  const dashes = line.indexOf('--')
  if (dashes >= 0 && !command.rest) return undefined
  const own = dashes < 0 ? line : line.slice(0, dashes)
  const declared = allFlags(command)
  const byName = new Map(Object.entries(declared))
  const byChar = new Map(Object.entries(declared).flatMap(([name, f]) => (f.char ? [[f.char, name] as const] : [])))
  const flags: ParsedLine['flags'] = {}
  const argv: string[] = []
  for (let i = 0; i < own.length; i++) {
    const token = own[i]
    if (!token.startsWith('-') || token === '-') {
      argv.push(token)
      continue
    }
    const long = /^--([^=]+)(?:=(.*))?$/s.exec(token)
    if (!long && !/^-[^-]$/.test(token)) return undefined
    const name = long ? long[1] : byChar.get(token[1])
    const inline = long?.[2]
    const flag: FlagDeclaration | undefined = name === undefined ? undefined : byName.get(name)
    if (name === undefined || !flag || flag.dependsOn) return undefined
    let value: string | boolean | number
    if (flag.type === 'boolean') {
      if (inline !== undefined) return undefined
      value = true
    } else {
      const next = inline ?? own[++i]
      if (next === undefined || (inline === undefined && next.startsWith('-'))) return undefined
      value = next
      if (flag.type === 'integer') {
        // As oclif's Flags.integer reads it; anything else is oclif's to refuse.
        if (!/^-?\d+$/.test(next)) return undefined
        value = Number.parseInt(next, 10)
        if ((flag.min !== undefined && value < flag.min) || (flag.max !== undefined && value > flag.max)) return undefined
      }
    }
    if (name in flags) return undefined
    flags[name] = value
  }

  for (const [name, flag] of byName) {
    if (name in flags || flag.type !== 'string' || !flag.env || env[flag.env] === undefined) continue
    flags[name] = env[flag.env]
  }
  for (const [name, flag] of byName) {
    const given = flags[name]
    if (given !== undefined && flag.exclusive?.some((other) => flags[other] !== undefined)) return undefined
    if (given === undefined && flag.type === 'string' && flag.default !== undefined) flags[name] = flag.default
    const value = flags[name]
    if (value === undefined && flag.required) return undefined
    if (typeof value === 'string' && flag.type === 'string' && flag.options && !flag.options.includes(value)) return undefined
  }

  const names = Object.keys(command.args)
  if (!command.variadic && !command.rest && argv.length > names.length) return undefined
  // oclif reorders repeated positional arguments of a command that takes more than it declares.
  if (new Set(argv).size !== argv.length) return undefined
  const args: ParsedLine['args'] = {}
  for (const [i, name] of names.entries()) {
    const arg = command.args[name]
    if (argv[i] === undefined && arg.required) return undefined
    if (argv[i] !== undefined && arg.options && !arg.options.includes(argv[i])) return undefined
    args[name] = argv[i]
  }
  return {args, flags, argv, rest: dashes < 0 ? undefined : line.slice(dashes + 1)}
}
