import {spawnSync} from 'node:child_process'
import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeFileAtomic} from '../../src/fs/atomic-file.js'
import {mountSmallDisk, type SmallDisk} from '../support/small-disk.js'

const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {encoding: 'utf8'}).stdout.trim()

describe('writeFileAtomic', () => {
  it('removes the temporary files of the same file that dead processes left, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mxtok-atomic-'))
    const dead = deadPid()
    const others = [`reg.json.${process.ppid}.1.tmp`, `reg.json.lock.${dead}.1.tmp`, `other.json.${dead}.1.tmp`, `reg.json.${dead}.tmp`, 'reg.json.lock']
    for (const name of [`reg.json.${dead}.1.tmp`, `reg.json.${dead}.22.tmp`, ...others]) writeFileSync(join(dir, name), 'x')
    await writeFileAtomic(join(dir, 'reg.json'), 'new')
    expect(readdirSync(dir).sort()).toEqual(['reg.json', ...others].sort())
    expect(readFileSync(join(dir, 'reg.json'), 'utf8')).toBe('new')
  })
})

describe('writeFileAtomic on a full disk', () => {
  let disk: SmallDisk
  beforeAll(() => {
    disk = mountSmallDisk(16)
  })
  afterAll(() => disk.unmount())

  it('says so, naming the file, keeps the old content and leaves no temporary file', async () => {
    const path = join(disk.dir, 'reg.json')
    await writeFileAtomic(path, 'old')
    disk.fill()
    try {
      await expect(writeFileAtomic(path, 'new'.repeat(2000))).rejects.toMatchObject({
        kind: 'disk',
        message: `cannot write ${path}: no space left on device; free some space and try again`,
      })
      expect(readFileSync(path, 'utf8')).toBe('old')
      expect(readdirSync(disk.dir).sort()).toEqual(['filler', 'reg.json'])
    } finally {
      disk.free()
    }
  })

  it('frees the space a killed writer took before writing', async () => {
    const path = join(disk.dir, 'second.json')
    // A leftover that takes the last free space: the write fits only once it is gone.
    disk.fill(2)
    const leftover = join(disk.dir, `second.json.${deadPid()}.1.tmp`)
    writeFileSync(leftover, Buffer.alloc(8192, 1))
    try {
      await writeFileAtomic(path, 'fits')
      expect(readFileSync(path, 'utf8')).toBe('fits')
      expect(readdirSync(disk.dir).sort()).toEqual(['filler', 'reg.json', 'second.json'])
    } finally {
      disk.free()
    }
  })
})
