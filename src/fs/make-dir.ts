import {mkdir} from 'node:fs/promises'
import {dirname} from 'node:path'

/**
 * mkdir -p, private. Not mkdir's own recursive mode: Node 20 reports ENOENT for it on a read-only
 * file system, where the person needs to read EROFS.
 */
export async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, {mode: 0o700})
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return
    if (code !== 'ENOENT' || dirname(dir) === dir) throw error
    await makeDir(dirname(dir))
    await mkdir(dir, {mode: 0o700}).catch((again) => {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again
    })
  }
}
