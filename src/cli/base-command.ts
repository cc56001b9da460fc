import {Command, Errors} from '@oclif/core'
import type {Deps} from '../core/deps.js'
import {ExitCode, MxtokError, type ErrorKind} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'
import {closeHttp} from '../matrix/http.js'
import {defaultDeps} from './default-deps.js'

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
    const {kind, message} = describe(error)
    process.exitCode = ExitCode[kind]
    if (this.jsonEnabled()) this.logJson({error: {kind, exitCode: ExitCode[kind], message}})
    else process.stderr.write(`mxtok: ${message}\n`)
    if (kind === 'unexpected' && process.env.MXTOK_DEBUG) process.stderr.write(`${error.stack}\n`)
  }

  async finally(): Promise<void> {
    await closeHttp()
  }
}

export function describe(error: unknown): {kind: ErrorKind; message: string} {
  if (error instanceof MxtokError) return {kind: error.kind, message: error.message}
  if (error instanceof MatrixError) {
    if (error.errcode === 'M_UNKNOWN_TOKEN') return {kind: 'tokenInvalid', message: `${error.message}: the token is no longer valid; create the session again`}
    return {kind: 'homeserver', message: error.message}
  }
  const oclifExit = (error as {oclif?: {exit?: number}})?.oclif?.exit
  if (error instanceof Errors.CLIError && oclifExit === 2) {
    const text = error.message.replace(/\s*\n\s*/g, ' ').replace(/^The following error occurred: /, '').replace(/ See more help with --help$/, '')
    return {kind: 'usage', message: `${text} (see --help)`}
  }
  return {kind: 'unexpected', message: `unexpected error: ${(error as Error)?.message ?? String(error)}; set MXTOK_DEBUG=1 for details and report it`}
}
