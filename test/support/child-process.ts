// Lifecycle of the services the tests start (Synapse, dbus-daemon, gnome-keyring): they must
// stop when asked, never outlive the test process, and never start in a unit test.
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
  // Every daemon and server process of the tests passes here: the last check that none runs in a unit test.
  if (process.env.MXTOK_TEST_NO_SERVICES) child.kill('SIGKILL')
  refuseInUnitTests(child.spawnfile)
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL')
  })
}

/**
 * Throws in the unit tests' project (vitest.config.ts sets MXTOK_TEST_NO_SERVICES there): unit
 * tests run in-process, and a test that needs a real service belongs with the integration tests.
 * Each start of a service calls it before it spends anything.
 */
export function refuseInUnitTests(what: string): void {
  if (process.env.MXTOK_TEST_NO_SERVICES)
    throw new Error(`a unit test started ${what}: unit tests run in-process, without services; put the test in test/integration/ instead`)
}
