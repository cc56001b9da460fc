import type {Deps} from '../core/deps.js'
import {type Sink, writeJson, writeLines} from '../output/terminal.js'
import type {InFlight} from './live/in-flight.js'

/**
 * What a command's action needs from the command line it runs under, with or without oclif. All it
 * shows goes through log() and warn(), which make every line inert (output/terminal.ts).
 */
export interface Io {
  /** With --json the runner prints the action's result as JSON, and log() is silent. */
  readonly json: boolean
  readonly env: NodeJS.ProcessEnv
  readonly stdin: NodeJS.ReadStream
  /** Prompts go here, where a person reads them even when stdout is piped. */
  readonly stderr: NodeJS.WriteStream
  /** Boxes only for a person at a terminal; scripts reading a pipe get plain columns. */
  readonly pretty: boolean
  /** The terminal's width when stdout is one: tables are cut to it. Undefined when piped. */
  readonly width?: number
  /**
   * A person watches both stdout and stderr on a terminal, and no --json: rows may be printed as
   * they become known, with a status line on stderr. Piped output stays whole.
   */
  readonly live?: {columns: number}
  /** A line, or the lines, of the human view, to stdout. */
  log(text: string | readonly string[]): void
  warn(message: string): void
  /** Goes only to stdout and only through here: the token is the one secret mxtok ever prints. */
  printToken(token: string): void
  deps(): Deps
  /** The requests of deps() under way, by homeserver host, as the HTTP layer reports them. */
  readonly inFlight: InFlight
}

export const warnLine = (message: string, sink: Sink = process.stderr) => writeLines(sink, [`mxtok: warning: ${message}`])

export const printJson = (value: unknown, sink: Sink = process.stdout) => writeJson(sink, value)

/** The streams and environment a command runs with: the process's, or buffers in tests. */
export interface Streams {
  stdin: NodeJS.ReadStream
  stdout: Sink & {isTTY?: boolean; columns?: number}
  stderr: NodeJS.WriteStream
  env: NodeJS.ProcessEnv
}

const terminalWidth = (stream: {isTTY?: boolean; columns?: number}) => (stream.isTTY ? stream.columns || 80 : undefined)

/**
 * An Io over these streams; the dependencies are the caller's, made when asked for. stdin and
 * stderr are read from `streams` only when used: the process's each cost about a millisecond to
 * make, which shows in `token` and `list --offline`, and most runs use neither.
 */
export function streamIo(streams: Streams, opts: {json: boolean; deps: () => Deps; inFlight?: InFlight}): Io {
  const {stdout, env} = streams
  return {
    json: opts.json,
    env,
    get stdin() {
      return streams.stdin
    },
    get stderr() {
      return streams.stderr
    },
    pretty: Boolean(stdout.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb',
    width: terminalWidth(stdout),
    live: !opts.json && stdout.isTTY && streams.stderr.isTTY && env.TERM !== 'dumb' ? {columns: terminalWidth(streams.stderr)!} : undefined,
    log: (text) => void (opts.json || writeLines(stdout, typeof text === 'string' ? [text] : text)),
    warn: (message) => warnLine(message, streams.stderr),
    printToken: (token) => writeLines(stdout, [token]),
    deps: opts.deps,
    inFlight: opts.inFlight ?? new Map(),
  }
}

/** The process's streams, each made when first used. */
const processStreams: Streams = {
  get stdin() {
    return process.stdin
  },
  get stdout() {
    return process.stdout
  },
  get stderr() {
    return process.stderr
  },
  env: process.env,
}

export const processIo = (opts: {json: boolean; deps: () => Deps; inFlight?: InFlight}): Io => streamIo(processStreams, opts)
