// Lifecycle of the services the tests start (Synapse, dbus-daemon, gnome-keyring): they must
// stop when asked, and never outlive the test process.
import type {ChildProcess} from 'node:child_process'

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/** SIGTERM, then SIGKILL if the child has not gone within `graceMs`. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (exited(child)) return
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const late = await Promise.race([
    gone.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), graceMs)
    }),
  ])
  clearTimeout(timer)
  if (late && !exited(child)) {
    child.kill('SIGKILL')
    await gone
  }
}

const live = new Set<ChildProcess>()
let exitHookInstalled = false

// Teardown may never run if the test process dies; a synchronous kill on exit is the last chance
// to free the ports and temp dirs the children hold.
export function killOnExit(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL')
  })
}
