import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import {MxtokError} from '../errors.js'
import {closeHttp} from '../matrix/http.js'
import {type CommonFlags, commandContext} from './command-context.js'
import type {Io} from './io.js'
import type {Outcome} from './outcome.js'
import {type CommandShape, describeParseError} from './parse-error.js'
import {reportError} from './report-error.js'
import {runAction} from './run-action.js'

/**
 * Shared by every command: one place turns any failure into one line and a documented exit code,
 * the same with and without --json.
 */
export abstract class BaseCommand extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    verbose: Flags.boolean({description: 'print each request (method, URL, status, time) on stderr; same as MXTOK_DEBUG=1', helpGroup: 'GLOBAL'}),
  }

  /** Runs the command's action as the runner does (run-action.ts), with the flags parse() read. */
  protected async act(flags: CommonFlags, start: (io: Io) => Promise<Outcome>): Promise<void> {
    await runAction(start, commandContext({...flags, json: this.jsonEnabled()}))
  }

  async catch(error: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    const parseProblem = error.oclif?.exit === 2 ? describeParseError(error, this.shape()) : undefined
    process.exitCode = reportError(parseProblem ? new MxtokError('usage', parseProblem, {cause: error}) : error, this.jsonEnabled())
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

  async finally(): Promise<void> {
    await closeHttp()
  }
}
