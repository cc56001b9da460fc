// What every Secret Service the tests start needs: a D-Bus session bus of its own, short-lived
// tools run with a deadline, and a look at the service from outside through dbus-send.
import {type ChildProcess, spawn} from 'node:child_process'
import {constants as fsConstants} from 'node:fs'
import {access, chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {delimiter, join} from 'node:path'
import {DBusConnection, type MethodCall, unixSocketPath} from '../../src/store/secret-service/dbus-connection.js'
import type {DBusValue} from '../../src/store/secret-service/dbus-wire.js'
import {killOnExit, refuseInUnitTests, terminate} from './child-process.js'

export const SECRETS_BUS_NAME = 'org.freedesktop.secrets'
export const SECRETS_PATH = '/org/freedesktop/secrets'
export const DEFAULT_ALIAS = `${SECRETS_PATH}/aliases/default`
export const STEP_TIMEOUT_MS = 10_000

/**
 * Variables that would send a Secret Service client to a desktop: a display lets an unlock prompt
 * appear and block, and GNOME_KEYRING_CONTROL points gnome-keyring tools at another daemon.
 */
export const desktopVariables = ['DISPLAY', 'WAYLAND_DISPLAY', 'GNOME_KEYRING_CONTROL'] as const

/**
 * The environment for a child process that must use this service: the current environment
 * without the desktop variables, plus the service's own.
 */
export function keyringChildEnv(keyringEnv: Record<string, string>, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {...base}
  for (const name of desktopVariables) delete env[name]
  return {...env, ...keyringEnv}
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

/** [binary, Debian package] pairs; fails naming every one missing and how to install them. */
export async function checkBinaries(what: string, required: readonly (readonly [string, string])[]): Promise<void> {
  const missing: string[] = []
  for (const [binary, pkg] of required) if (!(await onPath(binary))) missing.push(`${binary} (Debian package ${pkg})`)
  if (missing.length > 0) throw new Error(`missing for ${what}: ${missing.join(', ')}; run \`bash scripts/test-deps.sh\``)
}

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a short-lived tool; a hung service must fail the test, not stall it. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string, timeoutMs = STEP_TIMEOUT_MS): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {env, stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (signal === 'SIGTERM' && code === null) reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms`))
      else resolve({code, stdout, stderr})
    })
    child.stdin.on('error', () => {
      // The tool may exit before reading its input; its exit status tells what happened.
    })
    child.stdin.end(input ?? '')
  })
}

export function busCall(env: NodeJS.ProcessEnv, dest: string, path: string, method: string, ...args: string[]) {
  return run('dbus-send', ['--session', '--print-reply', `--dest=${dest}`, path, method, ...args], env)
}

/** busCall that must succeed; returns its printed reply. */
export async function mustCall(env: NodeJS.ProcessEnv, dest: string, path: string, method: string, ...args: string[]): Promise<string> {
  const res = await busCall(env, dest, path, method, ...args)
  if (res.code !== 0) throw new Error(`${method} failed: ${res.stderr.trim()}`)
  return res.stdout
}

export async function nameOwned(env: NodeJS.ProcessEnv, name: string): Promise<boolean> {
  const res = await busCall(env, 'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.NameHasOwner', `string:${name}`)
  return res.code === 0 && /boolean true/.test(res.stdout)
}

/** Polls `ready` every 20 ms; fails when `gone` says the service died or after `timeoutMs`. */
export async function waitUntil(what: string, ready: () => Promise<boolean>, gone: () => string | undefined, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await ready().catch(() => false)) return
    const died = gone()
    if (died) throw new Error(`${what}: ${died}`)
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The object path the default alias names, or undefined when there is none. */
export async function defaultCollection(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const res = await busCall(env, SECRETS_BUS_NAME, SECRETS_PATH, 'org.freedesktop.Secret.Service.ReadAlias', 'string:default')
  const path = /object path "([^"]+)"/.exec(res.stdout)?.[1]
  return res.code === 0 && path !== undefined && path !== '/' ? path : undefined
}

/** Whether the default collection is locked, as the Secret Service reports it. */
export async function defaultCollectionLocked(env: NodeJS.ProcessEnv): Promise<boolean> {
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

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

// A bus of our own rather than the stock session config: no service activation, so nothing can
// start a second Secret Service (or a GUI prompter) behind the test's back — KeePassXC, finding the
// name taken by an activated gnome-keyring, would turn its Secret Service off in its config for
// good — and the socket lives in the private runtime dir instead of /tmp.
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

export interface PrivateBus {
  /** A fresh directory (mode 700) for the service's files; removed by the caller. */
  root: string
  runtimeDir: string
  address: string
  bus: ChildProcess
}

/** A temp root with a runtime dir, and a dbus-daemon listening in it. */
export async function startPrivateBus(prefix: string): Promise<PrivateBus> {
  refuseInUnitTests('a D-Bus bus')
  const root = await mkdtemp(join(tmpdir(), prefix))
  await chmod(root, 0o700)
  const runtimeDir = join(root, 'run')
  await mkdir(runtimeDir, {mode: 0o700})
  const configPath = join(root, 'bus.conf')
  await writeFile(configPath, busConfig(runtimeDir))
  const {bus, address} = await new Promise<{bus: ChildProcess; address: string}>((resolve, reject) => {
    const bus = spawn('dbus-daemon', [`--config-file=${configPath}`, '--nofork', '--print-address=1'], {stdio: ['ignore', 'pipe', 'pipe']})
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
  return {root, runtimeDir, address, bus}
}

/** A private bus, and a home of its own for a desktop's Secret Service run with Qt's offscreen platform. */
export interface DesktopHome {
  bus: PrivateBus
  /** What mxtok is given to reach the service: the bus and its runtime directory. */
  env: Record<string, string>
  /** What the service and the tools that look at it run with: HOME, TMPDIR and XDG_* inside the root. */
  childEnv: NodeJS.ProcessEnv
  /** The daemon serving from now on, which stop() ends before the bus. */
  track(daemon: ChildProcess): void
  /** Ends the daemon, then the bus, and removes the root. */
  stop(): Promise<void>
}

/** Runs `start` in a fresh DesktopHome; when it fails, whatever it started is stopped. */
export async function inDesktopHome<T>(prefix: string, extraEnv: NodeJS.ProcessEnv, start: (home: DesktopHome) => Promise<T>): Promise<T> {
  let bus: PrivateBus | undefined
  let daemon: ChildProcess | undefined
  const stop = async () => {
    // SIGTERM saves a daemon's data; it is ignored while a dialog is open, hence the short grace.
    if (daemon) await terminate(daemon, 2_000)
    if (bus) await terminate(bus.bus, 5_000)
    if (bus) await rm(bus.root, {recursive: true, force: true})
  }
  try {
    bus = await startPrivateBus(prefix)
    const {root} = bus
    for (const dir of ['tmp', 'config', 'data', 'cache']) await mkdir(join(root, dir), {mode: 0o700})
    const env: Record<string, string> = {DBUS_SESSION_BUS_ADDRESS: bus.address, XDG_RUNTIME_DIR: bus.runtimeDir}
    const childEnv: NodeJS.ProcessEnv = {
      ...keyringChildEnv(env),
      HOME: root,
      TMPDIR: join(root, 'tmp'),
      XDG_CONFIG_HOME: join(root, 'config'),
      XDG_DATA_HOME: join(root, 'data'),
      XDG_CACHE_HOME: join(root, 'cache'),
      QT_QPA_PLATFORM: 'offscreen',
      ...extraEnv,
    }
    return await start({bus, env, childEnv, track: (child) => void (daemon = child), stop})
  } catch (error) {
    await stop()
    throw error
  }
}

/** A daemon of the service under test, its output kept for the error that says why it died. */
export function spawnDaemon(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): {child: ChildProcess; output: () => string; died: () => string | undefined} {
  const child = spawn(command, args, {env, stdio: ['pipe', 'pipe', 'pipe']})
  killOnExit(child)
  let output = ''
  let spawnError: Error | undefined
  child.stdout!.on('data', (c) => (output += c))
  child.stderr!.on('data', (c) => (output += c))
  child.once('error', (e) => (spawnError = e))
  child.stdin!.on('error', () => {
    // Reported through the daemon's exit.
  })
  child.stdin!.end(input ?? '')
  const died = () => {
    if (spawnError) return `${command} could not start (${spawnError.message})`
    if (child.exitCode !== null || child.signalCode !== null) return `${command} exited (${child.signalCode ?? child.exitCode}): ${output.trim().slice(-500)}`
    return undefined
  }
  return {child, output: () => output, died}
}

/**
 * One method call over a connection of its own, for what should not be on a command line (a
 * password) or what dbus-send cannot say. Returns the reply's body.
 */
export async function callOnBus(address: string, call: MethodCall): Promise<DBusValue[]> {
  const path = unixSocketPath(address)
  if (!path) throw new Error(`no Unix socket in the bus address ${address}`)
  const connection = new DBusConnection(path)
  try {
    return await connection.within(STEP_TIMEOUT_MS, `${call.member} got no answer within ${STEP_TIMEOUT_MS} ms`, async () => {
      await connection.open()
      return (await connection.call(call)).body ?? []
    })
  } finally {
    connection.close()
  }
}
