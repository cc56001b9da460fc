import type {Sink} from './terminal.js'

/**
 * The only control sequence mxtok writes of its own: carriage return and "erase line", to take the
 * status line away before a row is printed and to redraw it. It carries no text at all; what the
 * status line says goes out through writeStatus (terminal.ts), made inert like every other line.
 */
export function eraseStatusLine(sink: Sink): void {
  sink.write('\r\x1b[2K')
}
