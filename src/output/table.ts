import {inert} from './terminal-text.js'
import {displayWidth, padTo, truncate} from './text-width.js'

export interface TableOptions {
  /** Boxed, for a person at a terminal; else plain columns for scripts. */
  pretty: boolean
  /** The terminal's width: wider rows have their widest columns cut, with "…". None when piped. */
  width?: number
  /**
   * A column whose values are not known yet (a table printed row by row): it is given the room
   * the others leave on the terminal.
   */
  fill?: number
}

/**
 * A table's frame, for printing a row at a time: the lines above the rows, how to draw a row, and
 * the lines below. Column widths come from the rows given; a later row's longer cell is cut to fit.
 */
export interface TableLayout {
  top: string[]
  row(cells: string[]): string
  bottom: string[]
}

/**
 * Cells are made inert before the columns are measured, so that a cell carrying an escape is as
 * wide as what is shown of it, and a line break in a cell cannot start a row.
 */
export function tableLayout(head: string[], rows: string[][], opts: TableOptions): TableLayout {
  const natural = head.map((h) => displayWidth(h))
  // Loops rather than Math.max(...column): spreading hundreds of thousands of rows overflows the stack.
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      const w = displayWidth(inert(row[i]))
      if (w > natural[i]) natural[i] = w
    }
  }
  // Plain columns are two spaces apart; a box puts " │ " between them and "│ " " │" at the ends.
  const overhead = opts.pretty ? 3 * head.length + 1 : 2 * (head.length - 1)
  // A column is not cut below its heading: a row without its meaning helps nobody.
  const floors = head.map((h, i) => Math.min(natural[i], Math.max(displayWidth(h), 4)))
  const widths = opts.width === undefined ? natural : fitWidths(natural, floors, opts.width - overhead)
  if (opts.fill !== undefined && opts.width !== undefined) {
    const left = opts.width - overhead - widths.reduce((a, b) => a + b, 0)
    if (left > 0) widths[opts.fill] += left
  }
  const cellsOf = (cells: string[]) => cells.map((c, i) => padTo(truncate(inert(c), widths[i]), widths[i]))
  if (!opts.pretty) {
    return {top: [cellsOf(head).join('  ').trimEnd()], row: (cells) => cellsOf(cells).join('  ').trimEnd(), bottom: []}
  }
  const rule = (left: string, mid: string, right: string) => left + widths.map((w) => '─'.repeat(w + 2)).join(mid) + right
  const line = (cells: string[]) => `│ ${cellsOf(cells).join(' │ ')} │`
  return {top: [rule('┌', '┬', '┐'), line(head), rule('├', '┼', '┤')], row: line, bottom: [rule('└', '┴', '┘')]}
}

/** A table as lines: no rule between rows, so a long table stays as long as its rows. */
export function renderTable(head: string[], rows: string[][], opts: TableOptions): string[] {
  const layout = tableLayout(head, rows, opts)
  const lines = [...layout.top]
  for (const row of rows) lines.push(layout.row(row))
  for (const line of layout.bottom) lines.push(line)
  return lines
}

/**
 * Column widths within `room` columns: the widest columns are narrowed first, to a common width,
 * and none below its floor. When even that does not fit, the line overflows rather than become
 * unreadable.
 */
export function fitWidths(natural: number[], floors: number[], room: number): number[] {
  const width = (cap: number, i: number) => Math.min(natural[i], Math.max(cap, floors[i]))
  const total = (cap: number) => natural.reduce((sum, _, i) => sum + width(cap, i), 0)
  if (total(Infinity) <= room) return natural
  let lo = 0
  let hi = Math.max(...natural)
  // The largest cap that fits.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    if (total(mid) <= room) lo = mid
    else hi = mid - 1
  }
  return natural.map((_, i) => width(lo, i))
}

// Beyond ±8.64e15 ms a Date is invalid; a server may still send such a number.
const MAX_DATE_MS = 8.64e15

export const formatTs = (ts: number | null) => {
  if (ts === null) return '-'
  if (!Number.isFinite(ts) || Math.abs(ts) > MAX_DATE_MS) return 'invalid'
  return new Date(ts).toISOString().slice(0, 16).replace('T', ' ')
}
export const dash = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? '-' : v)
