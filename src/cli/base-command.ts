import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
import * as Flags from '@oclif/core/flags'
import type {Deps} from '../core/deps.js'
import {ExitCode} from '../errors.js'
import {closeHttp} from '../matrix/http.js'
import {defaultDeps} from './default-deps.js'
import {describeError} from './describe-error.js'

/**
 * Shared by every command: one place turns any failure into one line and a documented exit code,
 * the same with and without --json.
 */
export abstract class BaseCommand extends Command {
  static enableJsonFlag = true

  static baseFlags = {
    verbose: Flags.boolean({description: 'print each request (method, URL, status, time) on stderr; same as MXTOK_DEBUG=1', helpGroup: 'GLOBAL'}),
  }

  protected makeDeps(): Deps {
    const end = this.argv.indexOf('--')
    const own = end < 0 ? this.argv : this.argv.slice(0, end)
    const env = own.includes('--verbose') ? {...process.env, MXTOK_DEBUG: '1'} : process.env
    return defaultDeps(env, (message) => this.warnLine(message))
  }

  protected warnLine(message: string): void {
    process.stderr.write(`mxtok: warning: ${message}\n`)
  }

  async catch(error: Error & {exitCode?: number}): Promise<void> {
    if (error instanceof Errors.ExitError) throw error
    const {kind, message} = describeError(error)
    process.exitCode = ExitCode[kind]
    if (this.jsonEnabled()) this.logJson({error: {kind, exitCode: ExitCode[kind], message}})
    else process.stderr.write(`mxtok: ${message}\n`)
    if (kind === 'unexpected' && process.env.MXTOK_DEBUG) process.stderr.write(`${error.stack}\n`)
  }

  async finally(): Promise<void> {
    await closeHttp()
  }
}
