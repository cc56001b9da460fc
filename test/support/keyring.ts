// A real Secret Service (gnome-keyring) on a private D-Bus bus, isolated from any desktop keyring
// of the person running the tests.
import {spawn, type ChildProcess} from 'node:child_process'
import {constants as fsConstants} from 'node:fs'
import {access, chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {exited, killOnExit, terminate} from './child-process.js'

export interface KeyringSession {
  /** DBUS_SESSION_BUS_ADDRESS, XDG_RUNTIME_DIR and XDG_DATA_HOME of the private keyring. */
  env: Record<string, string>
  /** Ends only the keyring daemon: the bus stays up with no Secret Service on it. */
  stopDaemon(): Promise<void>
  stop(): Promise<void>
}

/** Password of the login keyring that startKeyring creates; unlockKeyring uses it too. */
export const keyringPassword = 'mxtok-test-keyring-password'

/**
 * Variables that would send a Secret Service client to a desktop: a display lets an unlock prompt
 * appear and block, and GNOME_KEYRING_CONTROL points gnome-keyring tools at another daemon.
 */
export const desktopVariables = ['DISPLAY', 'WAYLAND_DISPLAY', 'GNOME_KEYRING_CONTROL'] as const

const REQUIRED_BINARIES = [
  ['dbus-daemon', 'dbus'],
  ['dbus-send', 'dbus'],
  ['gnome-keyring-daemon', 'gnome-keyring'],
  ['secret-tool', 'libsecret-tools'],
] as const

const SECRETS_BUS_NAME = 'org.freedesktop.secrets'
const DEFAULT_ALIAS = '/org/freedesktop/secrets/aliases/default'
const STEP_TIMEOUT_MS = 10_000
const STOP_GRACE_MS = 5_000

/**
 * The environment for a child process that must use this keyring: the current environment without
 * the desktop variables, plus the keyring's own.
 */
export function keyringChildEnv(
  keyringEnv: Record<string, string>,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...base}
  for (const name of desktopVariables) delete env[name]
  return {...env, ...keyringEnv}
}

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
      `this process already used the keyring at ${bound}; native keychain code would keep talking to it. ` +
        'Reach another keyring from a child process.',
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

async function onPath(binary: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue
    try {
      await access(join(dir, binary), fsConstants.X_OK)
      return true
    } catch {
      // try the next directory
    }
  }
  return false
}

async function checkBinaries(): Promise<void> {
  const missing: string[] = []
  for (const [binary, pkg] of REQUIRED_BINARIES) {
    if (!(await onPath(binary))) missing.push(`${binary} (Debian package ${pkg})`)
  }
  if (missing.length > 0) {
    throw new Error(`missing for the test keyring: ${missing.join(', ')}; run \`bash scripts/test-deps.sh\``)
  }
}

interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a short-lived tool; a hung keyring must fail the test, not stall it. */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (signal === 'SIGTERM' && code === null) {
        reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms`))
      } else {
        resolve({code, stdout, stderr})
      }
    })
    child.stdin.on('error', () => {
      // The tool may exit before reading its input; its exit status tells what happened.
    })
    child.stdin.end(input ?? '')
  })
}

function busCall(env: NodeJS.ProcessEnv, dest: string, path: string, method: string, ...args: string[]) {
  return run('dbus-send', ['--session', '--print-reply', `--dest=${dest}`, path, method, ...args], env)
}

async function secretsServiceOwned(env: NodeJS.ProcessEnv): Promise<boolean> {
  const res = await busCall(
    env,
    'org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus.NameHasOwner',
    `string:${SECRETS_BUS_NAME}`,
  )
  return res.code === 0 && /boolean true/.test(res.stdout)
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

// A bus of our own rather than the stock session config: no service activation, so nothing can
// start a second gnome-keyring (or a GUI prompter) behind the test's back, and the socket lives in
// the private runtime dir instead of /tmp.
function busConfig(socketDir: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=${escapeXml(socketDir)}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
  <!-- The stock session bus's limits: dbus-daemon's own defaults (256 connections per user) are
       the system bus's, and a client that opens a connection per keychain call reaches them. -->
  <limit name="max_completed_connections">100000</limit>
  <limit name="max_incomplete_connections">10000</limit>
  <limit name="max_connections_per_user">100000</limit>
</busconfig>
`
}

function startBus(configPath: string): Promise<{bus: ChildProcess; address: string}> {
  return new Promise((resolve, reject) => {
    const bus = spawn('dbus-daemon', [`--config-file=${configPath}`, '--nofork', '--print-address=1'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    killOnExit(bus)
    let stdout = ''
    let stderr = ''
    const fail = (why: string) => {
      clearTimeout(timer)
      bus.kill('SIGKILL')
      reject(new Error(`dbus-daemon ${why}: ${stderr.trim()}`))
    }
    const timer = setTimeout(() => fail(`printed no address within ${STEP_TIMEOUT_MS} ms`), STEP_TIMEOUT_MS)
    bus.stderr!.on('data', (c) => (stderr += c))
    bus.stdout!.on('data', (c) => {
      stdout += c
      const newline = stdout.indexOf('\n')
      if (newline >= 0) {
        clearTimeout(timer)
        resolve({bus, address: stdout.slice(0, newline).trim()})
      }
    })
    bus.once('error', (err) => fail(`could not start (${err.message})`))
    bus.once('exit', (code, signal) => fail(`exited (${signal ?? `exit ${code}`})`))
  })
}

async function probe(env: NodeJS.ProcessEnv): Promise<void> {
  const attrs = ['mxtok-probe', 'x']
  const secret = `probe-${process.pid}-${Date.now()}`
  const store = await run('secret-tool', ['store', '--label=mxtok probe', ...attrs], env, secret)
  if (store.code !== 0) throw new Error(`secret-tool store failed (${store.code}): ${store.stderr.trim()}`)
  // A wrong password for an existing keyring still exits 0 but leaves it locked: only reading the
  // secret back proves the keyring is usable.
  const lookup = await run('secret-tool', ['lookup', ...attrs], env)
  if (lookup.code !== 0 || lookup.stdout !== secret) {
    throw new Error(`secret-tool lookup did not return the probe secret (${lookup.code}): ${lookup.stderr.trim()}`)
  }
  await run('secret-tool', ['clear', ...attrs], env)
}

/**
 * Starts a private D-Bus bus with gnome-keyring on it, whose default collection ("login") is
 * created and unlocked with keyringPassword. Each call gives an independent keyring.
 */
export async function startKeyring(): Promise<KeyringSession> {
  await checkBinaries()
  const root = await mkdtemp(join(tmpdir(), 'mxtok-keyring-'))
  const runtimeDir = join(root, 'run')
  const dataDir = join(root, 'data')
  let bus: ChildProcess | undefined
  let daemon: ChildProcess | undefined

  const stopAll = async () => {
    if (daemon) await terminate(daemon, STOP_GRACE_MS)
    if (bus) await terminate(bus, STOP_GRACE_MS)
    await rm(root, {recursive: true, force: true})
  }

  try {
    await chmod(root, 0o700)
    await mkdir(runtimeDir, {mode: 0o700})
    await mkdir(dataDir, {mode: 0o700})
    const configPath = join(root, 'bus.conf')
    await writeFile(configPath, busConfig(runtimeDir))

    const started = await startBus(configPath)
    bus = started.bus
    const env: Record<string, string> = {
      DBUS_SESSION_BUS_ADDRESS: started.address,
      XDG_RUNTIME_DIR: runtimeDir,
      XDG_DATA_HOME: dataDir,
    }
    const childEnv = keyringChildEnv(env)

    // --foreground keeps the daemon our child, so stop() knows exactly which process to end.
    const keyringDaemon = spawn('gnome-keyring-daemon', ['--foreground', '--unlock', '--components=secrets'], {
      env: childEnv,
      stdio: ['pipe', 'ignore', 'pipe'],
    })
    daemon = keyringDaemon
    killOnExit(keyringDaemon)
    let daemonErr = ''
    keyringDaemon.stderr!.on('data', (c) => (daemonErr += c))
    const spawnError = new Promise<Error>((resolve) => keyringDaemon.once('error', resolve))
    keyringDaemon.stdin!.on('error', () => {
      // Reported below through the daemon's exit.
    })
    keyringDaemon.stdin!.end(keyringPassword)

    // Until the daemon owns the name, a client would find no Secret Service at all.
    const deadline = Date.now() + STEP_TIMEOUT_MS
    while (!(await secretsServiceOwned(childEnv))) {
      const spawnFailed = await Promise.race([spawnError, new Promise<null>((r) => setTimeout(() => r(null), 10))])
      if (spawnFailed) throw new Error(`gnome-keyring-daemon could not start: ${spawnFailed.message}`)
      if (exited(keyringDaemon)) {
        throw new Error(`gnome-keyring-daemon exited (${keyringDaemon.exitCode}): ${daemonErr.trim()}`)
      }
      if (Date.now() > deadline) {
        throw new Error(`${SECRETS_BUS_NAME} had no owner after ${STEP_TIMEOUT_MS} ms: ${daemonErr.trim()}`)
      }
    }
    await probe(childEnv)

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

async function defaultCollectionPath(env: NodeJS.ProcessEnv): Promise<string> {
  const res = await busCall(
    env,
    SECRETS_BUS_NAME,
    '/org/freedesktop/secrets',
    'org.freedesktop.Secret.Service.ReadAlias',
    'string:default',
  )
  const path = /object path "([^"]+)"/.exec(res.stdout)?.[1]
  if (res.code !== 0 || path === undefined || path === '/') {
    throw new Error(`no default collection: ${res.stderr.trim() || res.stdout.trim()}`)
  }
  return path
}

/** Whether the default collection is locked, as the Secret Service reports it. */
export async function isKeyringLocked(keyringEnv: Record<string, string>): Promise<boolean> {
  const env = keyringChildEnv(keyringEnv)
  const res = await busCall(
    env,
    SECRETS_BUS_NAME,
    DEFAULT_ALIAS,
    'org.freedesktop.DBus.Properties.Get',
    'string:org.freedesktop.Secret.Collection',
    'string:Locked',
  )
  const match = /boolean (true|false)/.exec(res.stdout)
  if (res.code !== 0 || !match) throw new Error(`could not read Locked: ${res.stderr.trim()}`)
  return match[1] === 'true'
}

/**
 * Locks the default collection, as a screen lock or an idle timeout would.
 * `secret-tool lock` is not used: in libsecret-tools 0.20.5 it hangs when given an object path
 * and segfaults after locking when given a collection name.
 */
export async function lockKeyring(keyringEnv: Record<string, string>): Promise<void> {
  const env = keyringChildEnv(keyringEnv)
  const collection = await defaultCollectionPath(env)
  const res = await busCall(
    env,
    SECRETS_BUS_NAME,
    '/org/freedesktop/secrets',
    'org.freedesktop.Secret.Service.Lock',
    `array:objpath:${collection}`,
  )
  if (res.code !== 0) throw new Error(`Lock failed: ${res.stderr.trim()}`)
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
