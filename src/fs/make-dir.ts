// fs.promises, not node:fs/promises: that would load as a bundle starts, 0.7 ms of every run.
import {promises as fs} from 'node:fs'
import {dirname} from 'node:path'

/**
 * mkdir -p, private. Not mkdir's own recursive mode: Node 20 reports ENOENT for it on a read-only
 * file system, where the person needs to read EROFS.
 */
export async function makeDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, {mode: 0o700})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error
    await makeDir(dirname(dir))
    await fs.mkdir(dir, {mode: 0o700}).catch((again) => {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again
    })
  }
}
