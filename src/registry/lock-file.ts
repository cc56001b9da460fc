import {open, readFile, unlink} from 'node:fs/promises'
import {MxtokError} from '../errors.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Runs `fn` while holding an exclusive lock file, so that concurrent mxtok processes apply their
 * registry changes one after another. A lock left by a killed process is taken over.
 */
export async function withLockFile<T>(path: string, fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      const handle = await open(path, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim())
      if (owner > 0 && !alive(owner)) {
        await unlink(path).catch(() => {})
        continue
      }
      if (Date.now() > deadline) {
        throw new MxtokError('unexpected', `another mxtok process holds ${path}; wait for it, or delete the file if no mxtok is running`)
      }
      await sleep(delay)
    }
  }
  try {
    return await fn()
  } finally {
    await unlink(path).catch(() => {})
  }
}
