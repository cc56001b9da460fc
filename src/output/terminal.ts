import {inert, inertJson} from './terminal-text.js'

/** Anything text can be written to: a process stream, or a buffer in tests. */
export interface Sink {
  write(text: string): unknown
}

/**
 * The one place text leaves mxtok for a person. Each line is made inert: it may carry a device's
 * display name, a server's error text or a field of a foreign file, and none of them may act on
 * the terminal. A line break inside a line is shown, not obeyed, so no row can be forged either.
 */
export function writeLines(sink: Sink, lines: readonly string[]): void {
  if (lines.length > 0) sink.write(lines.map((line) => `${inert(line)}\n`).join(''))
}

/** The exact data, for scripts: JSON-escaped, so that it too cannot act on a terminal it reaches. */
export function writeJson(sink: Sink, value: unknown): void {
  sink.write(`${inertJson(value)}\n`)
}

/** The text of the status line, without a line break: it is erased and redrawn in place. */
export function writeStatus(sink: Sink, text: string): void {
  sink.write(inert(text))
}
