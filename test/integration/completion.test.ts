// Shell completion as a person meets it: the real shells, on a terminal, pressing TAB.
import {execFileSync} from 'node:child_process'
import {chmodSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {BIN, runCli, tempDir} from '../support/cli.js'
import {onPty, type PtyRun} from '../support/pty.js'

let home: string
let env: Record<string, string>

beforeAll(() => {
  home = tempDir('mxtok-completion-')
  const bin = join(home, 'bin')
  mkdirSync(bin)
  // The shells find mxtok on PATH, as after a global install.
  writeFileSync(join(bin, 'mxtok'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(join(bin, 'mxtok'), 0o755)
  const session = (deviceId: string) => ({
    userId: '@bot:completion.example',
    homeserver: 'https://completion.example',
    deviceId,
    createdAt: '2026-01-01T00:00:00.000Z',
    store: 'keychain',
  })
  writeFileSync(join(home, 'sessions.json'), JSON.stringify({version: 1, sessions: {alpha: session('MXTOKALPHA'), beta2: session('MXTOKBETA')}}), {mode: 0o600})
  env = {HOME: home, MXTOK_CONFIG_DIR: home, PATH: `${bin}:${process.env.PATH}`}
})

async function typeAndSee(shell: PtyRun, keys: string, expected: RegExp): Promise<void> {
  const from = shell.seen()
  shell.type(keys)
  await shell.waitFor(expected, {from})
  // Clear the line for the next case with Ctrl-U: Ctrl-C would make the terminal drop what is typed next.
  shell.type('\x15')
}

describe('shell completion', () => {
  it('mxtok autocomplete says how to turn it on, naming mxtok, for bash, zsh and fish', async () => {
    const r = await runCli(['autocomplete'], {env})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).not.toMatch(/MXTOK CLI/)
    expect(r.stdout).toContain('eval "$(mxtok autocomplete --script bash)"')
    expect(r.stdout).toContain('eval "$(mxtok autocomplete --script zsh)"')
    expect(r.stdout).toContain('mxtok autocomplete --script fish > ~/.config/fish/completions/mxtok.fish')
    const zsh = await runCli(['autocomplete', 'zsh'], {env})
    expect(zsh.stdout).toContain('~/.zshrc')
    expect(zsh.stdout).not.toContain('bash')
  })

  it('bash completes commands, session names and store names', async () => {
    const bash = onPty('bash', ['--norc', '--noprofile', '-i'], {env: {...env, PS1: '$ '}})
    try {
      bash.type('eval "$(mxtok autocomplete --script bash)"; echo loaded\n')
      await bash.waitFor(/^loaded/m)
      await typeAndSee(bash, 'mxtok ver\t', /mxtok verify /)
      await typeAndSee(bash, 'mxtok token \t\t', /alpha\s+beta2/)
      await typeAndSee(bash, 'mxtok create bot --store \t\t', /file\s+keychain/)
      await typeAndSee(bash, 'mxtok list --of\t', /mxtok list --offline /)
    } finally {
      bash.kill()
    }
  })

  it('zsh completes session names and store names', async () => {
    const zsh = onPty('zsh', ['-f', '-i'], {env: {...env, PS1: '%% '}})
    try {
      zsh.type('autoload -Uz compinit && compinit -u -D && eval "$(mxtok autocomplete --script zsh)" && echo loaded\n')
      await zsh.waitFor(/^loaded/m)
      await typeAndSee(zsh, 'mxtok revoke \t', /alpha.*beta2/s)
      await typeAndSee(zsh, 'mxtok move alpha --to \t', /file.*keychain/s)
      await typeAndSee(zsh, 'mxtok doc\t', /mxtok doctor/)
    } finally {
      zsh.kill()
    }
  })

  it('fish completes session names once, store names, and commands with their summaries', () => {
    const script = join(home, 'mxtok.fish')
    writeFileSync(script, execFileSync(process.execPath, [BIN, 'autocomplete', '--script', 'fish'], {env: {...process.env, ...env}, encoding: 'utf8'}))
    const complete = (line: string) =>
      execFileSync('fish', ['--no-config', '-c', `source ${script}; complete -C "${line}"`], {env: {...process.env, ...env}, encoding: 'utf8'})
        .trim()
        .split('\n')
    const words = (line: string) => complete(line).map((l) => l.split('\t')[0])
    expect(words('mxtok token ')).toEqual(['alpha', 'beta2'])
    expect(words('mxtok token alpha ')).toEqual([''])
    expect(words('mxtok verify alpha ')).toEqual(['alpha', 'beta2'])
    expect(words('mxtok doctor --store ')).toEqual(['file', 'keychain', 'vault'])
    expect(words('mxtok create bot --store ')).toEqual(['file', 'keychain', 'vault'])
    expect(complete('mxtok rev')).toEqual([expect.stringMatching(/^revoke\tLog a session's token out on the server, then forget it$/)])
  })
})
