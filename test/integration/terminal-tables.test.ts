// Tables as a person sees them on a terminal, and as a script reads them through a pipe.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli, tempDir} from '../support/cli.js'
import {mxtokOnPty} from '../support/pty.js'

const LONG_DEVICE = `MXTOK${'L'.repeat(150)}`

function registry(names: string[], device = (name: string) => `MXTOK${name.toUpperCase()}`): string {
  const dir = tempDir('mxtok-tables-')
  const sessions = Object.fromEntries(
    names.map((n) => [
      n,
      {
        userId: '@bot:tables.example',
        homeserver: 'https://matrix.tables.example',
        deviceId: device(n),
        createdAt: '2026-01-01T00:00:00.000Z',
        store: 'keychain',
      },
    ]),
  )
  writeFileSync(join(dir, 'sessions.json'), JSON.stringify({version: 1, sessions}), {mode: 0o600})
  return dir
}
const envOf = (dir: string) => ({HOME: dir, MXTOK_CONFIG_DIR: dir})
const names = (lines: string[]) => lines.map((l) => /^[│ ]*(\S+)/.exec(l)?.[1])

describe('tables', () => {
  it('on a terminal: one line per row, no rule between rows, names in natural order', async () => {
    const dir = registry(['s10', 's2', 'S3', 's1', 'bot'])
    const r = await mxtokOnPty(['list', '--offline'], {env: envOf(dir), cols: 160})
    expect(r.code, r.stdout).toBe(0)
    const lines = r.stdout.replace(/\r/g, '').trimEnd().split('\n')
    expect(lines).toHaveLength(5 + 4)
    expect(lines[0]).toMatch(/^┌─/)
    expect(lines[2]).toMatch(/^├─/)
    expect(lines.at(-1)).toMatch(/^└─/)
    expect(names(lines.slice(3, -1))).toEqual(['bot', 's1', 's2', 'S3', 's10'])
  })

  it('255 rows take 259 lines, not 500', async () => {
    const dir = registry(Array.from({length: 255}, (_, i) => `s${i}`))
    const r = await mxtokOnPty(['list', '--offline'], {env: envOf(dir), cols: 160})
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(259)
  })

  it('a wide column is cut to the terminal width, with the full value piped and in --json', async () => {
    const dir = registry(['bot', 's2'], (n) => (n === 'bot' ? LONG_DEVICE : 'MXTOKSHORT'))
    const r = await mxtokOnPty(['list', '--offline'], {env: envOf(dir), cols: 100})
    const lines = r.stdout.replace(/\r/g, '').trimEnd().split('\n')
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(100)
    expect(r.stdout).not.toContain(LONG_DEVICE)
    expect(lines.find((l) => l.includes('bot'))).toMatch(/MXTOKLLL+…/)
    expect(lines.find((l) => l.includes('s2'))).toContain('MXTOKSHORT')
    expect(lines[1]).toMatch(/│ NAME +│ USER +│ DEVICE +│ ON SERVER │ LAST SEEN IP │ LAST SEEN \(UTC\) │ HOMESERVER +│/)

    const piped = await runCli(['list', '--offline'], {env: envOf(dir)})
    expect(piped.stdout).toContain(LONG_DEVICE)
    expect(piped.stdout).not.toContain('│')
    const json = await mxtokOnPty(['list', '--offline', '--json'], {env: envOf(dir), cols: 100})
    expect(JSON.parse(json.stdout.replace(/\r/g, '')).sessions[0].deviceId).toBe(LONG_DEVICE)
  })

  it('piped: plain columns in natural order, nothing cut', async () => {
    const dir = registry(['s10', 's2', 's1'])
    const r = await runCli(['list', '--offline'], {env: envOf(dir)})
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^NAME\s+USER\s+DEVICE/)
    expect(names(lines.slice(1))).toEqual(['s1', 's2', 's10'])
  })
})
