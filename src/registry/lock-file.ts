import {open, readFile, stat, unlink} from 'node:fs/promises'
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
        await removeStale(path, owner)
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

/** A takeover lasts milliseconds: a breaker this old was left by a process killed during one. */
const BREAKER_STALE_MS = 5_000

/**
 * Removes the lock of a dead owner. Two processes that both saw the dead PID must not both remove
 * "the" lock: the second would remove the one the first has just taken. So only the holder of a
 * second, short-lived lock (the breaker) may remove it, and only while the dead PID still holds it.
 */
async function removeStale(path: string, deadOwner: number): Promise<void> {
  const breaker = `${path}.break`
  let handle
  try {
    handle = await open(breaker, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const info = await stat(breaker).catch(() => undefined)
    if (info && Date.now() - info.mtimeMs > BREAKER_STALE_MS) await unlink(breaker).catch(() => {})
    await sleep(5)
    return
  }
  try {
    const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim())
    if (owner === deadOwner) await unlink(path).catch(() => {})
  } finally {
    await handle.close()
    await unlink(breaker).catch(() => {})
  }
}
