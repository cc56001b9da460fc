/**
 * Reads a command line the way oclif would, from the command's entry in oclif.manifest.json, for
 * the plain invocations that make up nearly every run. Anything else — help, an unknown or
 * repeated flag, a missing or invalid value, a value that looks like a flag — is not guessed at:
 * the answer is undefined and oclif itself parses the line and says what is wrong.
 */
export interface ManifestFlag {
  name: string
  type: 'boolean' | 'option'
  char?: string
  required?: boolean
  multiple?: boolean
  allowNo?: boolean
  options?: string[]
  env?: string
  default?: unknown
  exclusive?: string[]
  dependsOn?: string[]
  relationships?: unknown
}

export interface ManifestCommand {
  args: Record<string, {name: string; required?: boolean}>
  flags: Record<string, ManifestFlag>
  strict?: boolean
  /** Flags.integer's, with their bounds: the manifest records them only as a command's own `integerFlags`. */
  integerFlags?: Record<string, {min?: number; max?: number}>
}

export interface ParsedLine {
  args: Record<string, string | undefined>
  flags: Record<string, string | boolean | number | undefined>
  /** Every positional argument, as oclif's `argv`. */
  argv: string[]
  /** What follows "--", when the line has one. */
  rest?: string[]
}

/** `rest`: the command takes what follows "--" as a command line of its own (exec); else a "--" is left to oclif. */
export function parseByManifest(command: ManifestCommand, line: string[], env: NodeJS.ProcessEnv, opts: {rest?: boolean} = {}): ParsedLine | undefined {
  const dashes = line.indexOf('--')
  if (dashes >= 0 && !opts.rest) return undefined
  const own = dashes < 0 ? line : line.slice(0, dashes)
  const byChar = new Map(Object.values(command.flags).flatMap((f) => (f.char ? [[f.char, f] as const] : [])))
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
    const name = long ? long[1] : token[1]
    const inline = long?.[2]
    let flag = long ? command.flags[name] : byChar.get(name)
    let value: string | boolean | number
    if (!flag && long && name.startsWith('no-') && command.flags[name.slice(3)]?.allowNo) {
      flag = command.flags[name.slice(3)]
      if (inline !== undefined) return undefined
      value = false
    } else if (!flag || flag.multiple || flag.dependsOn || flag.relationships) {
      return undefined
    } else if (flag.type === 'boolean') {
      if (inline !== undefined) return undefined
      value = true
    } else {
      const next = inline ?? own[++i]
      if (next === undefined || (inline === undefined && next.startsWith('-'))) return undefined
      value = next
      const bounds = command.integerFlags?.[flag.name]
      if (bounds) {
        // As oclif's Flags.integer reads it; anything else is oclif's to refuse.
        if (!/^-?\d+$/.test(next)) return undefined
        value = Number.parseInt(next, 10)
        if ((bounds.min !== undefined && value < bounds.min) || (bounds.max !== undefined && value > bounds.max)) return undefined
      }
    }
    if (flag.name in flags) return undefined
    flags[flag.name] = value
  }

  for (const flag of Object.values(command.flags)) {
    if (flag.name in flags || !flag.env || env[flag.env] === undefined) continue
    if (flag.type !== 'option' || command.integerFlags?.[flag.name]) return undefined
    flags[flag.name] = env[flag.env]
  }
  for (const flag of Object.values(command.flags)) {
    const given = flags[flag.name]
    if (given !== undefined && flag.exclusive?.some((other) => flags[other] !== undefined)) return undefined
    if (given === undefined && flag.default !== undefined) {
      if (typeof flag.default !== (flag.type === 'boolean' ? 'boolean' : 'string') || command.integerFlags?.[flag.name]) return undefined
      flags[flag.name] = flag.default as string | boolean
    }
    const value = flags[flag.name]
    if (value === undefined && flag.required) return undefined
    if (typeof value === 'string' && flag.options && !flag.options.includes(value)) return undefined
  }

  const names = Object.keys(command.args)
  if (command.strict !== false && argv.length > names.length) return undefined
  // oclif reorders repeated positional arguments of a non-strict command.
  if (new Set(argv).size !== argv.length) return undefined
  const args: ParsedLine['args'] = {}
  for (const [i, name] of names.entries()) {
    if (argv[i] === undefined && command.args[name].required) return undefined
    args[name] = argv[i]
  }
  return {args, flags, argv, rest: dashes < 0 ? undefined : line.slice(dashes + 1)}
}
