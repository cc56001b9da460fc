import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli, tempDir} from '../support/cli.js'

describe('shell completion', () => {
  it('completes commands and flags in bash', async () => {
    const home = tempDir('mxtok-completion-')
    const env = {HOME: home, XDG_CACHE_HOME: join(home, '.cache')}
    const setup = await runCli(['autocomplete', 'bash'], {env})
    expect(setup.code, setup.stderr).toBe(0)
    expect(setup.stdout).toContain('mxtok autocomplete script bash')

    const complete = (words: string[]) =>
      execFileSync('bash', ['-c', `source "$1"; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _mxtok_autocomplete; echo "\${COMPREPLY[@]}"`, 'bash', join(home, '.cache/mxtok/autocomplete/bash_setup')], {encoding: 'utf8'}).trim()
    expect(complete(['mxtok', 'ver'])).toBe('verify')
    expect(complete(['mxtok', 'create', '--pass'])).toBe('--password-stdin')
  })
})
