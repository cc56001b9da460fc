import {execFileSync} from 'node:child_process'
import {closeSync, openSync, readdirSync, statSync, truncateSync, unlinkSync, writeSync} from 'node:fs'
import {join} from 'node:path'
import {tempDir} from './cli.js'

/**
 * A real file system that runs out of space: a tiny tmpfs (the tests run as root), filled on demand
 * with one file that is deleted to free the space again.
 */
export interface SmallDisk {
  dir: string
  /** Writes until the file system says ENOSPC, then gives back `pages` pages of 4 KiB. */
  fill(pages?: number): void
  free(): void
  unmount(): void
}

export function mountSmallDisk(sizeKiB: number): SmallDisk {
  const dir = tempDir('mxtok-small-disk-')
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0700`, 'tmpfs', dir])
  const filler = join(dir, 'filler')
  return {
    dir,
    fill(pages = 0) {
      const fd = openSync(filler, 'a')
      const chunk = Buffer.alloc(4096, 1)
      try {
        for (;;) writeSync(fd, chunk)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
      } finally {
        closeSync(fd)
      }
      // tmpfs counts whole pages: each file a run writes (a lock, a temporary file) takes one.
      if (pages > 0) truncateSync(filler, (Math.ceil(statSync(filler).size / 4096) - pages) * 4096)
    },
    free() {
      unlinkSync(filler)
    },
    unmount: () => unmount(dir),
  }
}

/** `dir` seen again, read-only, at a new path: a bind mount remounted read-only. */
export function readOnlyView(dir: string): {dir: string; unmount(): void} {
  const view = tempDir('mxtok-read-only-')
  execFileSync('mount', ['--bind', dir, view])
  execFileSync('mount', ['-o', 'remount,ro,bind', view])
  return {dir: view, unmount: () => unmount(view)}
}

function unmount(dir: string): void {
  // Lazy, so that a test that failed with a file still open cannot leave the mount behind.
  execFileSync('umount', ['-l', dir])
}

/** Files a run must not leave in a config directory: locks, lock breakers, temporary files. */
export const leftovers = (dir: string) => readdirSync(dir).filter((n) => /\.(lock|break|tmp)$/.test(n))
