import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {describe, expect, it} from 'vitest'

const root = resolve(import.meta.dirname, '../..')

describe('README', () => {
  it('has the command reference that `npm run readme` generates from the built commands', () => {
    const generated = execFileSync(resolve(root, 'node_modules/.bin/oclif'), ['readme', '--no-aliases', '--no-source-links', '--dry-run'], {
      cwd: root,
      encoding: 'utf8',
      env: {...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true'},
    })
    // --dry-run prints a progress line first and a blank line last around the README it would write.
    const wouldWrite = generated.replace(/^replacing <!-- commands --> in .*\n/, '').replace(/\n$/, '')
    const section = (text: string) => text.slice(text.indexOf('<!-- commands -->'), text.indexOf('<!-- commandsstop -->'))
    expect(section(readFileSync(resolve(root, 'README.md'), 'utf8')), 'README.md is out of date: run `npm run readme`').toBe(section(wouldWrite))
  })
})
