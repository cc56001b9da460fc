// fs.promises, not node:fs/promises: that would load as a bundle starts, 0.7 ms of every run.
import {promises as fs} from 'node:fs'
import {dirname} from 'node:path'
import {removeDeadTemps, tempName} from './leftover-temps.js'
import {makeDir} from './make-dir.js'
import {cannotWrite} from './write-error.js'

let written = 0

/**
 * Replaces a file so that a crash at any moment leaves either the old or the new content:
 * write a private temporary file, flush it, rename it over the old one, flush the directory.
 * A failure leaves no temporary file; one a killed run left is removed first, since it may be
 * what filled the disk.
 */
export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  try {
    await makeDir(dirname(path))
    await removeDeadTemps(path)
    // 'wx' refuses to reuse a leftover name rather than share it.
    const tmp = tempName(path, ++written)
    await writeNewFile(tmp, data, mode, true)
    try {
      await fs.rename(tmp, path)
    } catch (error) {
      await fs.unlink(tmp).catch(() => {})
      throw error
    }
    const dir = await fs.open(dirname(path), 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  } catch (error) {
    throw cannotWrite(path, error)
  }
}

/** Creates `path` (which must not exist) with `data`, flushed if asked; on any failure nothing is left. */
export async function writeNewFile(path: string, data: string, mode = 0o600, flush = true): Promise<void> {
  const handle = await fs.open(path, 'wx', mode)
  try {
    await handle.writeFile(data, 'utf8')
    if (flush) await handle.sync()
  } catch (error) {
    await handle.close().catch(() => {})
    await fs.unlink(path).catch(() => {})
    throw error
  }
  try {
    await handle.close()
  } catch (error) {
    await fs.unlink(path).catch(() => {})
    throw error
  }
}
