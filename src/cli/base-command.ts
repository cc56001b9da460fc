import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import {closeHttp} from '../matrix/http.js'
import {commandDeps} from './default-deps.js'
import {type Io, printJson, processIo} from './io.js'
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

  async catch(error: Error & {exitCode?: number}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    reportError(error, this.jsonEnabled())
  }

  /** oclif prints --json results itself; through here they leave like every other output. */
  logJson(json: unknown): void {
    printJson(json)
  }

  async finally(): Promise<void> {
    await closeHttp()
  }
}
