/**
 * A command declared once: its arguments, flags, bounds and words. The same object is read by the
 * runner's parser (parse-line.ts), made an oclif command (oclif-command.ts), and read by
 * completion, the man page and the suggestion of a mistyped command; the action's input type is
 * derived from it (Input). Plain data, without oclif: the runner reads it at every start, and
 * loading oclif's flag builders costs 50 ms or more.
 */
interface FlagCommon {
  description: string
  char?: string
  required?: boolean
  /** Flags that cannot be given with this one. */
  exclusive?: readonly string[]
  /** Flags this one needs. */
  dependsOn?: readonly string[]
  helpGroup?: string
}

export interface BooleanFlag extends FlagCommon {
  type: 'boolean'
}

export interface StringFlag extends FlagCommon {
  type: 'string'
  options?: readonly string[]
  /** An environment variable that gives the value when the flag is not given. */
  env?: string
  default?: string
}

export interface IntegerFlag extends FlagCommon {
  type: 'integer'
  min?: number
  max?: number
}

export type FlagDeclaration = BooleanFlag | StringFlag | IntegerFlag

export interface ArgDeclaration {
  description: string
  required?: boolean
  options?: readonly string[]
  /** Completion offers the names of existing sessions here. */
  session?: boolean
}

type Without<F, K extends string> = Omit<F, K>
export const flag = {
  boolean: <const F extends Without<BooleanFlag, 'type'>>(f: F) => ({...f, type: 'boolean'}) as F & {type: 'boolean'},
  string: <const F extends Without<StringFlag, 'type'>>(f: F) => ({...f, type: 'string'}) as F & {type: 'string'},
  integer: <const F extends Without<IntegerFlag, 'type'>>(f: F) => ({...f, type: 'integer'}) as F & {type: 'integer'},
}

export interface CommandDeclaration {
  id: string
  summary: string
  description: string
  /** `<%= config.bin %>` stands for the program's name, as in oclif. */
  examples: readonly string[]
  /** The synopsis after the program's name, where the arguments do not say it. */
  usage?: string
  args: Readonly<Record<string, ArgDeclaration>>
  flags: Readonly<Record<string, FlagDeclaration>>
  /** --json prints the action's result. */
  json: boolean
  /** More positional arguments than declared are the action's to read (verify NAME...). */
  variadic?: boolean
  /** What follows "--" is a command line of its own (exec): never read as arguments or flags. */
  rest?: boolean
  /** A line the registry alone answers (list --offline), without the network or keychain code. */
  offline?: (flags: Record<string, unknown>) => boolean
}

/** Checks a declaration and keeps its literal types, from which Input derives the action's. */
export const declare = <const C extends CommandDeclaration>(command: C): C => command

/** The flags every command has, beside its own. */
export const commonFlags = {
  verbose: flag.boolean({description: 'print each request (method, URL, status, time) on stderr; same as MXTOK_DEBUG=1', helpGroup: 'GLOBAL'}),
}
export const jsonFlag = flag.boolean({description: 'Format output as json.', helpGroup: 'GLOBAL'})

/** Every flag of the command, as both parsers read the line and oclif lists them: --json where it has it, the common ones, its own. */
export const allFlags = (c: CommandDeclaration): Readonly<Record<string, FlagDeclaration>> => ({
  ...(c.json ? {json: jsonFlag} : {}),
  ...commonFlags,
  ...c.flags,
})

type FlagValue<F> = F extends {type: 'boolean'} ? boolean : F extends {type: 'integer'} ? number : F extends {options: readonly (infer O)[]} ? O : string
type Given<F> = F extends {required: true} ? true : F extends {default: string} ? true : false

export type InputFlags<F extends Readonly<Record<string, FlagDeclaration>>> = {
  -readonly [K in keyof F as Given<F[K]> extends true ? K : never]: FlagValue<F[K]>
} & {
  -readonly [K in keyof F as Given<F[K]> extends true ? never : K]?: FlagValue<F[K]>
}

export type InputArgs<A extends Readonly<Record<string, ArgDeclaration>>> = {
  -readonly [K in keyof A as A[K] extends {required: true} ? K : never]: A[K] extends {options: readonly (infer O)[]} ? O : string
} & {
  -readonly [K in keyof A as A[K] extends {required: true} ? never : K]?: A[K] extends {options: readonly (infer O)[]} ? O : string
}

/** What a command's action is given, whichever parser read the line: derived from the declaration. */
export interface Input<C extends CommandDeclaration> {
  args: InputArgs<C['args']>
  flags: InputFlags<C['flags']>
  /** Every positional argument, as oclif's `argv`. */
  argv: string[]
  /** What follows "--", for a command that takes it (exec), when the line has one. */
  rest?: string[]
}
