// A real Secret Service (gnome-keyring) on a private D-Bus bus, isolated from any desktop keyring
// of the person running the tests.
import type {ChildProcess} from 'node:child_process'
import {mkdir, rm} from 'node:fs/promises'
import {connect} from 'node:net'
import {join} from 'node:path'
import {terminate} from './child-process.js'
import {
  checkBinaries as checkRequired,
  defaultCollection,
  defaultCollectionLocked,
  desktopVariables,
  keyringChildEnv,
  mustCall,
  nameOwned,
  type PrivateBus,
  SECRETS_BUS_NAME,
  SECRETS_PATH,
  STEP_TIMEOUT_MS,
  spawnDaemon,
  startPrivateBus,
  waitUntil,
} from './private-bus.js'
import {probeWithSecretTool} from './secret-tool.js'

export {desktopVariables, keyringChildEnv} from './private-bus.js'

export interface KeyringSession {
  /** DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR and XDG_DATA_HOME of the private keyring. */
  env: Record<string, string>
  /** Ends only the keyring daemon: the bus stays up with no Secret Service on it. */
  stopDaemon(): Promise<void>
  stop(): Promise<void>
}

/** Password of the login keyring that startKeyring creates; unlockKeyring uses it too. */
export const keyringPassword = 'mxtok-test-keyring-password'

const REQUIRED_BINARIES = [
  ['dbus-daemon', 'dbus'],
  ['dbus-send', 'dbus'],
  ['gnome-keyring-daemon', 'gnome-keyring'],
  ['secret-tool', 'libsecret-tools'],
] as const

const STOP_GRACE_MS = 5_000

// libdbus reads DBUS_SESSION_BUS_ADDRESS once, at the first session-bus connection of the process,
// and keeps that address for the life of the process.
const BOUND_ADDRESS = Symbol.for('mxtok.test.keyringBusAddress')

/**
 * Points this process at the keyring, for native code such as @napi-rs/keyring that reads the
 * process environment when it connects. Returns a function that restores the previous values.
 *
 * Two limits of the native side:
 * - Only effective in a child-process worker (vitest's forks pool): worker threads have a private
 *   copy of process.env that native code never sees.
 * - The first keyring a process talks to is the only one it ever reaches: a later change of the
 *   address is ignored, and calls go to the first bus (or fail once it is gone). So this refuses
 *   a second, different keyring in the same process; use a child process for that (vitest runs
 *   each test file in a process of its own).
 */
export function useKeyringInThisProcess(keyringEnv: Record<string, string>): () => void {
  const address = keyringEnv.DBUS_SESSION_BUS_ADDRESS
  if (!address) throw new Error('keyringEnv has no DBUS_SESSION_BUS_ADDRESS')
  const holder = globalThis as {[BOUND_ADDRESS]?: string}
  const bound = holder[BOUND_ADDRESS]
  if (bound !== undefined && bound !== address) {
    throw new Error(
      `this process already used the keyring at ${bound}; native keychain code would keep talking to it. Reach another keyring from a child process.`,
    )
  }
  holder[BOUND_ADDRESS] = address

  const names = [...desktopVariables, ...Object.keys(keyringEnv)]
  const saved = new Map(names.map((n) => [n, process.env[n]]))
  for (const name of desktopVariables) delete process.env[name]
  Object.assign(process.env, keyringEnv)
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  }
}

async function checkBinaries(): Promise<void> {
  await checkRequired('the test keyring', REQUIRED_BINARIES)
}

/**
 * Starts a private D-Bus bus with gnome-keyring on it, whose default collection ("login") is
 * created and unlocked with keyringPassword. Each call gives an independent keyring.
 */
export async function startKeyring(opts: {restartOnCrash?: boolean} = {}): Promise<KeyringSession> {
  await checkBinaries()
  let bus: PrivateBus | undefined
  let daemon: ChildProcess | undefined
  let root: string | undefined

  let stopping = false
  const stopAll = async () => {
    stopping = true
    if (daemon) await terminate(daemon, STOP_GRACE_MS)
    if (bus) await terminate(bus.bus, STOP_GRACE_MS)
    if (root) await rm(root, {recursive: true, force: true})
  }

  try {
    bus = await startPrivateBus('mxtok-keyring-')
    root = bus.root
    const dataDir = join(root, 'data')
    await mkdir(dataDir, {mode: 0o700})
    const env: Record<string, string> = {
      DBUS_SESSION_BUS_ADDRESS: bus.address,
      XDG_RUNTIME_DIR: bus.runtimeDir,
      XDG_DATA_HOME: dataDir,
    }
    const childEnv = keyringChildEnv(env)

    // --foreground keeps the daemon our child, so stop() knows exactly which process to end.
    const started = spawnDaemon('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], childEnv, keyringPassword)
    daemon = started.child
    // Until the daemon owns the name, a client would find no Secret Service at all.
    await waitUntil('gnome-keyring-daemon did not take org.freedesktop.secrets', () => nameOwned(childEnv, SECRETS_BUS_NAME), started.died)
    // A wrong password for an existing keyring still exits 0 but leaves it locked: only reading the
    // secret back proves the keyring is usable.
    await probeWithSecretTool(childEnv)

    // gnome-keyring-daemon 42 has been seen to end on a GLib assertion (SIGTRAP) a few times in
    // many suite runs, taking every later keychain test with it. The shared keyring of a whole run
    // is started again on the same bus, and what it said is shown, for whoever finds the cause.
    const watch = (current: ReturnType<typeof spawnDaemon>) =>
      current.child.once('exit', (code, signal) => {
        if (stopping || !opts.restartOnCrash) return
        process.stderr.write(
          `test keyring: gnome-keyring-daemon ended (${signal ?? code}); starting it again. Its last output:\n${current.output().trim().slice(-2000)}\n`,
        )
        const again = spawnDaemon('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], childEnv, keyringPassword)
        daemon = again.child
        watch(again)
      })
    watch(started)

    const keyringDaemon = started.child
    let stopped: Promise<void> | undefined
    return {
      env,
      async stopDaemon() {
        await terminate(keyringDaemon, STOP_GRACE_MS)
      },
      stop() {
        stopped ??= stopAll()
        return stopped
      },
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}

/** Whether the default collection is locked, as the Secret Service reports it. */
export async function isKeyringLocked(keyringEnv: Record<string, string>): Promise<boolean> {
  return defaultCollectionLocked(keyringChildEnv(keyringEnv))
}

/**
 * Locks the default collection, as a screen lock or an idle timeout would.
 * `secret-tool lock` is not used: in libsecret-tools 0.20.5 it hangs when given an object path
 * and segfaults after locking when given a collection name.
 */
export async function lockKeyring(keyringEnv: Record<string, string>): Promise<void> {
  const env = keyringChildEnv(keyringEnv)
  const collection = await defaultCollection(env)
  if (!collection) throw new Error('no default collection to lock')
  await mustCall(env, SECRETS_BUS_NAME, SECRETS_PATH, 'org.freedesktop.Secret.Service.Lock', `array:objpath:${collection}`)
  if (!(await isKeyringLocked(keyringEnv))) throw new Error('Lock returned but the collection is still unlocked')
}

// gnome-keyring's control protocol (daemon/control in its source): after one credentials byte,
// a packet is a big-endian uint32 total length, a uint32 operation and length-prefixed strings;
// the reply is a length and a uint32 result. Unlocking over D-Bus instead would need a Secret
// Service session, which lives only as long as one connection and so is out of dbus-send's reach.
const CONTROL_OP_UNLOCK = 1
const CONTROL_RESULT_NAMES = ['OK', 'DENIED', 'FAILED']

function controlUnlock(socketPath: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const pw = Buffer.from(password, 'utf8')
    const packet = Buffer.alloc(12 + pw.length)
    packet.writeUInt32BE(packet.length, 0)
    packet.writeUInt32BE(CONTROL_OP_UNLOCK, 4)
    packet.writeUInt32BE(pw.length, 8)
    pw.copy(packet, 12)

    const socket = connect(socketPath)
    let reply = Buffer.alloc(0)
    socket.setTimeout(STEP_TIMEOUT_MS, () => socket.destroy(new Error('no reply from the keyring control socket')))
    socket.on('error', reject)
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from([0]), packet])))
    socket.on('data', (chunk) => {
      reply = Buffer.concat([reply, chunk])
      if (reply.length >= 8) {
        socket.destroy()
        resolve(reply.readUInt32BE(4))
      }
    })
    socket.on('close', () => {
      if (reply.length < 8) reject(new Error('keyring control socket closed without a reply'))
    })
  })
}

/** Unlocks the login keyring with keyringPassword, through gnome-keyring's control socket. */
export async function unlockKeyring(keyringEnv: Record<string, string>): Promise<void> {
  const runtimeDir = keyringEnv.XDG_RUNTIME_DIR
  if (!runtimeDir) throw new Error('keyringEnv has no XDG_RUNTIME_DIR')
  const socketPath = join(runtimeDir, 'keyring', 'control')
  const result = await controlUnlock(socketPath, keyringPassword)
  if (result !== 0) {
    throw new Error(`keyring unlock refused: ${CONTROL_RESULT_NAMES[result] ?? `result ${result}`}`)
  }
  if (await isKeyringLocked(keyringEnv)) throw new Error('unlock succeeded but the collection is still locked')
}
