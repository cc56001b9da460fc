import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join, resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {tempDir} from '../support/cli.js'

const root = resolve(import.meta.dirname, '../..')

describe('the npm package', () => {
  it('packs into a tarball that installs globally and runs', {timeout: 180_000}, () => {
    const dir = tempDir('mxtok-pack-')
    const npm = (...args: string[]) => execFileSync('npm', args, {cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']})
    // The suite has built dist/ already; the prepack build would race the other test files.
    const tarball = npm('pack', '--ignore-scripts', '--silent', '--pack-destination', dir).trim().split('\n').pop()!
    npm('install', '--global', '--prefix', join(dir, 'prefix'), '--no-audit', '--no-fund', '--loglevel=error', join(dir, tarball))

    const mxtok = (...args: string[]) =>
      execFileSync(join(dir, 'prefix/bin/mxtok'), args, {encoding: 'utf8', env: {PATH: process.env.PATH, HOME: dir, MXTOK_CONFIG_DIR: join(dir, 'config')}})
    const help = mxtok('--help')
    for (const command of ['create', 'list', 'verify', 'revoke', 'token', 'exec', 'import', 'prune', 'doctor', 'move', 'rename'])
      expect(help).toMatch(new RegExp(`^  ${command} `, 'm'))
    expect(mxtok('create', '--help')).toContain('--password-stdin')
    expect(mxtok('--version')).toMatch(/^mxtok\/0\.1\.0 /)
    expect(mxtok('list', '--offline')).toContain('No sessions.')
    // Everyday commands run without oclif, from the one-file runner the package ships.
    const installed = join(dir, 'prefix/lib/node_modules/mxtok')
    for (const file of ['oclif.manifest.json', 'dist/runner.cjs', 'dist/offline.cjs', 'dist/start-command.cjs'])
      expect(existsSync(join(installed, file)), file).toBe(true)
    expect(mxtok('verify')).toContain('No sessions to verify.')
    // npm links the man page on a global install: man finds it beside the prefix's bin/.
    const man = execFileSync('man', ['mxtok'], {
      encoding: 'utf8',
      env: {PATH: `${join(dir, 'prefix/bin')}:${process.env.PATH}`, MANPATH: join(dir, 'prefix/share/man'), LANG: 'C.UTF-8', MANWIDTH: '80'},
    })
    expect(man).toMatch(/^NAME\n {7}mxtok - Matrix access tokens/m)
  })
})
