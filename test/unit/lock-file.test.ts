import {spawnSync} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {withLockFile} from '../../src/registry/lock-file.js'

/** The PID of a process that has exited: what a kill -9 leaves in a lock file. */
const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout.trim()

async function maxInside(path: string, contenders: number): Promise<number> {
  let inside = 0
  let most = 0
  await Promise.all(
    Array.from({length: contenders}, () =>
      withLockFile(path, async () => {
        most = Math.max(most, ++inside)
        await new Promise((resolve) => setTimeout(resolve, 10))
        inside--
      }),
    ),
  )
  return most
}

describe('withLockFile', () => {
  it('lets one holder in at a time', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mxtok-lock-')), 'x.lock')
    expect(await maxInside(path, 8)).toBe(1)
  })

  it('takes over a lock left by a killed process, still one holder at a time', async () => {
    for (let round = 0; round < 5; round++) {
      const path = join(mkdtempSync(join(tmpdir(), 'mxtok-lock-')), 'x.lock')
      writeFileSync(path, deadPid())
      expect(await maxInside(path, 8)).toBe(1)
    }
  })

  it('gives up with a clear error while a live process holds the lock', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'mxtok-lock-')), 'x.lock')
    writeFileSync(path, String(process.ppid))
    await expect(withLockFile(path, async () => {}, 200)).rejects.toThrow(/another mxtok process holds .*x\.lock; wait for it/)
  })
})
