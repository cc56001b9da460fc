import type {InFlight} from './in-flight.js'
import {type StatusLine, statusLine} from './status-line.js'

/** Nothing is said about a command that answers within this long. */
export const QUIET_MS = 1000
/** A request waiting this long is named with its server, its wait and the time left until its timeout. */
export const SLOW_MS = 3000

export interface LiveOptions {
  stderr: {write(text: string): unknown}
  columns: number
  now: () => number
  /** The deadline of a request (MXTOK_TIMEOUT). */
  timeoutMs: number
  inFlight: InFlight
  /** What is being done to the sessions: "checking", "listing". */
  verb: string
}

export interface LiveProgress {
  /** Prints lines (rows) above the status line. */
  print(print: () => void): void
  /** This session is settled: no longer awaited (the line says so at its next redraw). */
  done(name: string): void
  end(): void
}

const seconds = (ms: number, round: (x: number) => number = Math.floor) => `${Math.max(0, round(ms / 1000))} s`

/**
 * The status line of verify and list on a terminal: after a second, which sessions are still
 * awaited and on which servers; for a request waiting several seconds, how long it has waited and
 * how long until it times out.
 */
export function liveProgress(sessions: readonly {name: string; homeserver: string}[], opts: LiveOptions): LiveProgress {
  const started = opts.now()
  const awaited = new Map(sessions.map((s) => [s.name, new URL(s.homeserver).host]))
  const line: StatusLine = statusLine(opts.stderr, opts.columns)
  const describe = (): string => {
    const now = opts.now()
    if (now - started < QUIET_MS || awaited.size === 0) return ''
    const byHost = new Map<string, string[]>()
    for (const [name, host] of awaited) {
      const names = byHost.get(host)
      if (names) names.push(name)
      else byHost.set(host, [name])
    }
    const hosts = [...byHost].map(([host, names]) => {
      const oldest = Math.min(...(opts.inFlight.get(host) ?? [now]))
      const who = `${host} (${names.slice(0, 3).join(', ')}${names.length > 3 ? `, +${names.length - 3}` : ''})`
      const waited = now - oldest
      return {waited, text: waited >= SLOW_MS ? `${who}: waiting ${seconds(waited)}, times out in ${seconds(opts.timeoutMs - waited, Math.ceil)}` : who}
    })
    hosts.sort((a, b) => b.waited - a.waited)
    return `${opts.verb} ${awaited.size} of ${sessions.length}: ${hosts.map((h) => h.text).join('; ')}`
  }
  const timer = setInterval(() => line.set(describe()), 250)
  timer.unref()
  return {
    print: (print) => line.around(print),
    // The next tick redraws: describing after every row would make a long run quadratic.
    done: (name) => void awaited.delete(name),
    end: () => {
      clearInterval(timer)
      line.end()
    },
  }
}
