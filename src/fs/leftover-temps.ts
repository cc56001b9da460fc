// fs.promises, not node:fs/promises: that would load as a bundle starts, 0.7 ms of every run.
import {promises as fs} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {processAlive} from './process-alive.js'

/** The name of a temporary file that replaces `path`: unique per process and call. */
export const tempName = (path: string, n: number) => `${path}.${process.pid}.${n}.tmp`

/**
 * Removes the temporary files of `path` (see tempName) that a killed process left: those whose
 * PID is dead. A live PID's file may be one being written, so it stays.
 */
export async function removeDeadTemps(path: string): Promise<void> {
  const dir = dirname(path)
  const prefix = `${basename(path)}.`
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return
  }
  await Promise.all(
    names.map(async (name) => {
      if (!name.startsWith(prefix)) return
      const pid = /^(\d+)\.\d+\.tmp$/.exec(name.slice(prefix.length))?.[1]
      if (pid && !processAlive(Number(pid))) await fs.unlink(join(dir, name)).catch(() => {})
    }),
  )
}
