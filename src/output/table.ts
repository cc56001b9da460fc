/** Boxes and colour only for a person at a terminal; scripts reading a pipe get plain columns. */
export function wantsPrettyOutput(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && env.NO_COLOR === undefined && env.TERM !== 'dumb'
}

export async function renderTable(head: string[], rows: string[][], pretty: boolean): Promise<string> {
  if (!pretty) return plainColumns([head, ...rows])
  const {default: Table} = await import('cli-table3')
  const table = new Table({head, style: {head: ['bold'], border: []}})
  table.push(...rows)
  return table.toString()
}

export function plainColumns(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)))
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n')
}

export const formatTs = (ts: number | null) => (ts === null ? '-' : new Date(ts).toISOString().slice(0, 16).replace('T', ' '))
export const dash = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? '-' : v)
