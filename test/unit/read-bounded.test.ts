import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {readFileBounded} from '../../src/fs/read-bounded.js'
import {findToken} from '../../src/vault/token-source.js'
import {tempDir} from '../support/cli.js'

describe('a file mxtok did not write', () => {
  it('is read whole up to its bound, and refused one byte past it', () => {
    const dir = tempDir('mxtok-bounded-')
    writeFileSync(join(dir, 'at'), 'x'.repeat(1024))
    writeFileSync(join(dir, 'past'), 'x'.repeat(1025))
    expect(readFileBounded(join(dir, 'at'), 1024)).toHaveLength(1024)
    expect(() => readFileBounded(join(dir, 'past'), 1024)).toThrow('larger than 1 KiB')
  })

  it('that never ends (/dev/zero) is refused in bounded memory', () => {
    expect(() => readFileBounded('/dev/zero', 64 * 1024)).toThrow('larger than 64 KiB')
  })

  it('as a Vault token file larger than a token is one line naming the file, exit 2', async () => {
    const home = tempDir('mxtok-bounded-home-')
    writeFileSync(join(home, '.vault-token'), 'x'.repeat(65 * 1024))
    await expect(findToken({HOME: home}, new URL('http://127.0.0.1:8200'))).rejects.toMatchObject({
      kind: 'usage',
      message: `cannot read the token file ${join(home, '.vault-token')}: larger than 64 KiB`,
    })
  })
})
