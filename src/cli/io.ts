import type {Deps} from '../core/deps.js'

/** What a command's action needs from the command line it runs under, with or without oclif. */
export interface Io {
  /** With --json the runner prints the action's result as JSON, and log() is silent. */
  readonly json: boolean
  log(line: string): void
  warn(message: string): void
  deps(): Deps
}

export const warnLine = (message: string) => void process.stderr.write(`mxtok: warning: ${message}\n`)

/** Output to this process's stdout and stderr; the dependencies are the caller's, made when asked for. */
export function processIo(opts: {json: boolean; deps: () => Deps}): Io {
  return {
    json: opts.json,
    log: (line) => void (opts.json || process.stdout.write(`${line}\n`)),
    warn: warnLine,
    deps: opts.deps,
  }
}
