import {mkdir, open, rename, unlink} from 'node:fs/promises'
import {dirname} from 'node:path'

/**
 * Replaces a file so that a crash at any moment leaves either the old or the new content:
 * write a private temporary file, flush it, rename it over the old one, flush the directory.
 */
let written = 0

export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), {recursive: true, mode: 0o700})
  // Unique per process and call; 'wx' below refuses to reuse a leftover name rather than share it.
  const tmp = `${path}.${process.pid}.${++written}.tmp`
  const handle = await open(tmp, 'wx', mode)
  try {
    await handle.writeFile(data, 'utf8')
    await handle.sync()
  } catch (error) {
    await handle.close()
    await unlink(tmp).catch(() => {})
    throw error
  }
  await handle.close()
  try {
    await rename(tmp, path)
  } catch (error) {
    await unlink(tmp).catch(() => {})
    throw error
  }
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
