// fs.promises, not node:fs/promises: that would load as a bundle starts, 0.7 ms of every run.
import {promises as fs} from 'node:fs'
import {dirname} from 'node:path'
import {MxtokError} from '../errors.js'
import {writeNewFile} from './atomic-file.js'
import {removeDeadTemps, tempName} from './leftover-temps.js'
import {makeDir} from './make-dir.js'
import {processAlive} from './process-alive.js'
import {cannotWrite} from './write-error.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * A lock without a PID in it is no live holder: mxtok's locks are born with their PID (see
 * createLock), so an empty or unreadable one was left by a crash, a full disk or an older mxtok —
 * unless it is this young, the time an older mxtok (or a file system without hard links) takes
 * between creating the file and writing its PID.
 */
export const NAMELESS_LOCK_STALE_MS = 2_000

/** A takeover lasts milliseconds: a breaker this old was left by a process killed during one. */
const BREAKER_STALE_MS = 5_000

let attempts = 0

/**
 * Runs `fn` while holding an exclusive lock file, so that concurrent mxtok processes apply their
 * registry changes one after another. A lock without a live holder (see staleLock) is taken over;
 * one that cannot be written is reported as such (exit 8), leaving nothing behind, and one held
 * past the timeout makes the registry unusable for now (exit 7), which is no bug.
 */
export async function withLockFile<T>(path: string, fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  const own = tempName(path, ++attempts)
  try {
    await makeDir(dirname(path))
    await writeNewFile(own, String(process.pid), 0o600, false)
    for (let delay = 5; !(await createLock(path, own)); delay = Math.min(delay * 2, 100)) {
      const seen = await staleLock(path)
      if (seen === 'gone' || (seen && (await removeStale(path, seen)))) continue
      if (Date.now() > deadline) {
        throw new MxtokError('config', `another mxtok process holds ${path}; wait for it, or delete the file if no mxtok is running`)
      }
      await sleep(delay)
    }
  } catch (error) {
    throw cannotWrite(path, error)
  } finally {
    await fs.unlink(own).catch(() => {})
  }
  try {
    await removeDeadTemps(path)
    return await fn()
  } finally {
    await fs.unlink(path).catch(() => {})
  }
}

/**
 * What link() says on a file system without hard links (FAT, some network and FUSE file systems):
 * there the lock is created empty and its PID written after, hence NAMELESS_LOCK_STALE_MS.
 */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'])

/**
 * Makes `own` (a file holding our PID) the lock, if there is none: a hard link appears atomically
 * with its content, so no other process ever sees this lock empty.
 */
async function createLock(path: string, own: string): Promise<boolean> {
  try {
    await fs.link(own, path)
    return true
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? ''
    if (code === 'EEXIST') return false
    if (!NO_HARD_LINKS.has(code)) throw error
  }
  try {
    await writeNewFile(path, String(process.pid), 0o600, false)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/**
 * Whether the lock at `path` has no live holder: its identity if so, 'gone' when it vanished
 * meanwhile, undefined while a live process (or one just creating it) holds it.
 */
async function staleLock(path: string): Promise<{ino: number} | 'gone' | undefined> {
  let info
  let text = ''
  try {
    info = await fs.stat(path)
    text = await fs.readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone'
    // Unreadable: judged like an empty lock, by its age.
  }
  if (!info) return undefined
  const owner = Number(/^\s*(\d{1,10})\s*$/.exec(text)?.[1])
  const named = owner > 0 && owner < 2 ** 31
  const stale = named ? !processAlive(owner) : Date.now() - info.mtimeMs > NAMELESS_LOCK_STALE_MS
  return stale ? {ino: info.ino} : undefined
}

/**
 * Removes a lock without a live holder; false when it did not (another process is at it). Two processes that both saw it must not both remove "the"
 * lock: the second would remove the one the first has just taken. So only the holder of a second,
 * short-lived lock (the breaker) may remove it, and only while it is still the same stale file.
 */
async function removeStale(path: string, seen: {ino: number}): Promise<boolean> {
  const breaker = `${path}.break`
  let handle
  try {
    handle = await fs.open(breaker, 'wx', 0o600)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    const info = await fs.stat(breaker).catch(() => undefined)
    if (info && Date.now() - info.mtimeMs > BREAKER_STALE_MS) await fs.unlink(breaker).catch(() => {})
    return false
  }
  try {
    const now = await staleLock(path)
    if (now === 'gone' || now?.ino !== seen.ino) return false
    // One that cannot be removed (a directory, say) is waited on like a live holder, till the deadline.
    return await fs.unlink(path).then(
      () => true,
      () => false,
    )
  } finally {
    await handle.close()
    await fs.unlink(breaker).catch(() => {})
  }
}
