import * as Args from '@oclif/core/args'
import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import type {FlagInput} from '@oclif/core/interfaces'
import {MxtokError} from '../errors.js'
import {closeHttp} from '../matrix/http.js'
import type {DeclaredCommand} from './commands/index.js'
import {allFlags, type CommandDeclaration, commonFlags, type FlagDeclaration} from './declaration.js'
import {type CommandShape, describeParseError} from './parse-error.js'
import {reportError} from './report-error.js'

type OclifFlag = FlagInput[string]

/** A declared flag as oclif's: the same names, relations, bounds and defaults. */
function oclifFlag(f: FlagDeclaration): OclifFlag {
  const common = {
    description: f.description,
    char: f.char as 'a' | undefined,
    required: f.required,
    exclusive: f.exclusive ? [...f.exclusive] : undefined,
    dependsOn: f.dependsOn ? [...f.dependsOn] : undefined,
    helpGroup: f.helpGroup,
  }
  if (f.type === 'boolean') return Flags.boolean(common)
  if (f.type === 'integer') return Flags.integer({...common, min: f.min, max: f.max})
  return Flags.string({...common, options: f.options ? [...f.options] : undefined, env: f.env, default: f.default})
}

const oclifFlags = (flags: Readonly<Record<string, FlagDeclaration>>) => Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, oclifFlag(f)]))

/** oclif's parser and help read these, as the runner's parser (parse-line.ts) reads the declaration. */
export function oclifDefinition(c: CommandDeclaration) {
  return {
    summary: c.summary,
    description: c.description,
    examples: [...c.examples],
    usage: c.usage,
    strict: !(c.variadic || c.rest),
    enableJsonFlag: c.json,
    baseFlags: oclifFlags(commonFlags),
    flags: oclifFlags(c.flags),
    args: Object.fromEntries(
      Object.entries(c.args).map(([name, a]) => [
        name,
        Args.string({description: a.description, required: a.required, options: a.options ? [...a.options] : undefined, ignoreStdin: true}),
      ]),
    ),
  }
}

/** The flags and arguments a command takes, as a parse error names them. */
export function commandShape(c: CommandDeclaration): CommandShape {
  const usage = c.usage?.replace(/^\S+\s*/, '')
  const args = usage ? [usage] : Object.entries(c.args).map(([name, a]) => (a.required ? name.toUpperCase() : `[${name.toUpperCase()}...]`))
  return {id: c.id, flags: Object.keys(allFlags(c)), args}
}

/**
 * The oclif command of a declared command: oclif needs a class in a file per command id, for its
 * manifest and help. It parses a line the runner left to it and starts the same action as the
 * runner (start-command.ts); any failure, parse errors included, becomes one line and a
 * documented exit code, the same with and without --json.
 */
export function commandClass(declared: DeclaredCommand): typeof Command {
  const definition = oclifDefinition(declared)
  return class extends Command {
    static summary = definition.summary
    static description = definition.description
    static examples = definition.examples
    static usage = definition.usage
    static strict = definition.strict
    static enableJsonFlag = definition.enableJsonFlag
    static baseFlags = definition.baseFlags
    static flags = definition.flags
    static args = definition.args

    async run(): Promise<void> {
      // What follows "--" is the command's own line (exec), not for oclif; parse() replaces this.argv.
      const all = this.argv
      const dashes = declared.rest ? all.indexOf('--') : -1
      const {args, flags, argv} = await this.parse(this.ctor, dashes === -1 ? all : all.slice(0, dashes))
      const {startCommand} = await import('./start-command.js')
      await startCommand(declared.id, {args, flags, argv: argv as string[], rest: dashes === -1 ? undefined : all.slice(dashes + 1)})
    }

    async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
      if (error instanceof Errors.ExitError) throw error
      const parseProblem = error.oclif?.exit === 2 ? describeParseError(error, commandShape(declared)) : undefined
      process.exitCode = reportError(parseProblem ? new MxtokError('usage', parseProblem, {cause: error}) : error, this.jsonEnabled())
    }

    async finally(): Promise<void> {
      await closeHttp()
    }
  }
}
