import {Command} from '@oclif/core/command'
import * as Errors from '@oclif/core/errors'
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

  protected makeDeps(): Deps {
    return defaultDeps(process.env, (message) => this.warnLine(message))
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
