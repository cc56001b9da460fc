// The man page, rendered by man(1) as a person reads it: built from the same definitions as --help.
import {spawnSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ExitCode} from '../../src/errors.js'

const root = resolve(import.meta.dirname, '../..')

interface ManifestCommand {
  flags: Record<string, {name: string; hidden?: boolean; env?: string}>
}

describe('man mxtok', () => {
  const r = spawnSync('man', ['--warnings', '-l', join(root, 'man/mxtok.1')], {
    encoding: 'utf8',
    env: {PATH: process.env.PATH, LANG: 'C.UTF-8', MANWIDTH: '100', MAN_KEEP_FORMATTING: ''},
  })
  const text = r.stdout
  const section = (from: string, to: string) => text.slice(text.indexOf(`\n${from}\n`), text.indexOf(`\n${to}\n`))

  it('renders without a warning from groff', () => {
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(text).toMatch(/^MXTOK\(1\) +User Commands +MXTOK\(1\)$/m)
    expect(text).toMatch(/^NAME\n {7}mxtok - Matrix access tokens as named sessions/m)
  })

  it('has every command with every flag, as oclif sees them', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, ManifestCommand>}
    expect(Object.keys(manifest.commands).length).toBeGreaterThan(10)
    for (const [id, command] of Object.entries(manifest.commands)) {
      const heading = new RegExp(`^ {3}mxtok ${id}\\b.*$`, 'm')
      expect(text, id).toMatch(heading)
      const start = text.search(heading)
      const next = text.slice(start + 1).search(/^ {3}mxtok |^EXIT STATUS/m)
      const body = text.slice(start, start + 1 + next)
      for (const flag of Object.values(command.flags))
        if (!flag.hidden && flag.name !== 'json' && flag.name !== 'verbose') expect(body, `${id} --${flag.name}`).toContain(`--${flag.name}`)
    }
    expect(text).toMatch(/^ {3}mxtok token NAME \[FLAGS\]\n {7}Print a session's access token/m)
    expect(text).toContain('mxtok verify --format prometheus')
  })

  it('documents every exit code, the environment and where things live', () => {
    for (const code of Object.values(ExitCode)) expect(section('EXIT STATUS', 'ENVIRONMENT')).toMatch(new RegExp(`^ {7}${code} +\\S`, 'm'))
    for (const name of [
      'MXTOK_CONFIG_DIR',
      'MXTOK_STORE',
      'MXTOK_PASSPHRASE',
      'MXTOK_PASSWORD',
      'MXTOK_TIMEOUT',
      'MXTOK_KEYCHAIN_TIMEOUT',
      'MXTOK_ALLOW_HTTP',
      'MXTOK_DEBUG',
    ]) {
      expect(text).toMatch(new RegExp(`^ {7}${name}$`, 'm'))
    }
    expect(text).toContain('~/.config/mxtok/sessions.json')
  })
})
