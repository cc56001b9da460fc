import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import {MxtokError} from '../errors.js'
import {closeHttp} from '../matrix/http.js'
import {commandDeps} from './default-deps.js'
import {type Io, printJson, processIo} from './io.js'
import {type CommandShape, describeParseError} from './parse-error.js'
import {reportError} from './report-error.js'

/**
 * Shared by every command: one place turns any failure into one line and a documented exit code,
 * the same with and without --json.
 */
export abstract class BaseCommand extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    verbose: Flags.boolean({description: 'print each request (method, URL, status, time) on stderr; same as MXTOK_DEBUG=1', helpGroup: 'GLOBAL'}),
  }

  /** Call after parse(), which replaces this.argv with what it was given. */
  protected io(): Io {
    const end = this.argv.indexOf('--')
    const own = end < 0 ? this.argv : this.argv.slice(0, end)
    return processIo({json: this.jsonEnabled(), deps: () => commandDeps(own.includes('--verbose'), own.includes('--allow-http'))})
  }

  async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    const parseProblem = error.oclif?.exit === 2 ? describeParseError(error, this.shape()) : undefined
    reportError(parseProblem ? new MxtokError('usage', parseProblem, {cause: error}) : error, this.jsonEnabled())
  }

  /** The flags and arguments this command takes, as a parse error names them. */
  private shape(): CommandShape {
    const ctor = this.ctor as typeof BaseCommand
    const flags = Object.keys({...ctor.flags, ...ctor.baseFlags})
    if (ctor.enableJsonFlag) flags.push('json')
    const usage = typeof ctor.usage === 'string' ? ctor.usage.replace(/^\S+\s*/, '') : undefined
    const args = usage ? [usage] : Object.values(ctor.args ?? {}).map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}...]`))
    return {id: this.id ?? '', flags, args}
  }

  /** oclif prints --json results itself; through here they leave like every other output. */
  logJson(json: unknown): void {
    printJson(json)
  }

  async finally(): Promise<void> {
    await closeHttp()
  }
}
