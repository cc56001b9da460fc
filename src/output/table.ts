import {inert} from './terminal-text.js'

/**
 * A table as lines. Cells are made inert before the columns are measured, so that a cell carrying
 * an escape is as wide as what is shown of it, and a line break in a cell cannot start a row.
 */
export async function renderTable(head: string[], rows: string[][], pretty: boolean): Promise<string[]> {
  const cells = rows.map((r) => r.map(inert))
  if (!pretty) return plainColumns([head, ...cells])
  const {default: Table} = await import('cli-table3')
  const table = new Table({head, style: {head: [], border: []}})
  for (const row of cells) table.push(row)
  return table.toString().split('\n')
}

export function plainColumns(rows: string[][]): string[] {
  // Loops rather than Math.max(...column): spreading hundreds of thousands of rows overflows the stack.
  const widths = rows[0].map(() => 0)
  for (const row of rows) for (let i = 0; i < row.length; i++) if (row[i].length > widths[i]) widths[i] = row[i].length
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd())
}

// Beyond ±8.64e15 ms a Date is invalid; a server may still send such a number.
const MAX_DATE_MS = 8.64e15

export const formatTs = (ts: number | null) => {
  if (ts === null) return '-'
  if (!Number.isFinite(ts) || Math.abs(ts) > MAX_DATE_MS) return 'invalid'
  return new Date(ts).toISOString().slice(0, 16).replace('T', ' ')
}
export const dash = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? '-' : v)
