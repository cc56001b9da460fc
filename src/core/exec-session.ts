import {type ChildProcess, spawn} from 'node:child_process'
import {constants} from 'node:os'
import {MxtokError, usageError} from '../errors.js'
import {type Session, tokenDevice, tokenOwner} from '../registry/session.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readLiveToken} from './find-session.js'
import {REGISTRY_POLL_MS, SessionWatch} from './session-watch.js'

export interface ExecOptions {
  name: string
  /** The command and its arguments, run without a shell. */
  command: string[]
  /** The environment the command gets, without mxtok's own variables and with the session's four added. */
  env: NodeJS.ProcessEnv
  /** How the command is restarted when the session's token changes; undefined leaves it alone (--no-restart). */
  restart?: RestartPolicy
  /** Replaced in tests. */
  spawn?: typeof spawn
}

/** How a command is stopped, to be started again with a new token or for good when the session has ended. */
export interface RestartPolicy {
  signal: NodeJS.Signals
  /** How long the command has to end after the signal, before SIGKILL. */
  graceMs: number
}

/** As Docker stops a container: SIGTERM, then 10 s before SIGKILL. */
export const DEFAULT_RESTART: RestartPolicy = {signal: 'SIGTERM', graceMs: 10_000}

/** Signals that, sent to mxtok, are meant for the command: a supervisor stopping a bot signals the process it started. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/**
 * Runs a command with the session's token in its environment — the one place it goes: argv is
 * readable by every user of the machine, a file outlives the run. Resolves to the exit status to
 * pass on: the command's own, or 128 + the signal number when a signal ended it, as shells do.
 *
 * While it runs, the session is followed (SessionWatch): when its token changes — rotated, created
 * again, refreshed here or by another run, changed in a shared store — the command is stopped and
 * started again with the new one, as Vault Agent's process supervisor does; a token about to
 * expire is refreshed first. A session that ends meanwhile (revoked, forgotten, expired) stops the
 * command, and exec fails with exit 4.
 */
export async function execSession(opts: ExecOptions, deps: Deps): Promise<number> {
  if (opts.command.length === 0) throw usageError(`no command given: write it after "--", e.g. mxtok exec ${opts.name} -- ./run-bot`)
  const session = await findSession(opts.name, deps)
  const live = await readLiveToken(session, deps)
  if (live === null) throw missingToken(session)
  const base = withoutOwnVariables(opts.env)
  const follow = opts.restart && {
    policy: opts.restart,
    watch: new SessionWatch(opts.name, session, live, deps),
    env: (s: Session, token: string) => sessionEnv(base, s, token),
    warn: deps.warn,
  }
  const running = () => supervise(opts.spawn ?? spawn, opts.name, opts.command, sessionEnv(base, session, live.token), follow)
  const store = deps.store(session.store)
  return store.whileRunning ? store.whileRunning(running, deps.warn) : running()
}

function sessionEnv(base: NodeJS.ProcessEnv, session: Session, token: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    MATRIX_HOMESERVER_URL: session.homeserver,
    MATRIX_USER_ID: session.userId,
    MATRIX_DEVICE_ID: session.deviceId,
    MATRIX_ACCESS_TOKEN: token,
  }
  // An admin login's token is on no device: the session's device ID is only mxtok's key for it,
  // and one inherited from elsewhere would be another token's.
  if (tokenDevice(session) === null) delete env.MATRIX_DEVICE_ID
  // Nor is an admin client's token any user's.
  if (tokenOwner(session).userId === null) delete env.MATRIX_USER_ID
  return env
}

/**
 * The command gets one session, not mxtok: MXTOK_PASSPHRASE opens every session of the file store,
 * MXTOK_PASSWORD logs in as the account, MXTOK_ALLOW_HTTP loosens what a nested mxtok would send in
 * clear. The whole prefix goes, so that a variable added later cannot leak by being forgotten here.
 * So does the operator's OpenBao/Vault token (BAO_TOKEN, VAULT_TOKEN), which opens every session of
 * the vault store and whatever else it may read: a bot that needs the vault has a token of its own.
 */
export function withoutOwnVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // Case-insensitive: Windows environment names are.
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^MXTOK_|^(BAO|VAULT)_TOKEN$/i.test(name)))
}

interface Follow {
  policy: RestartPolicy
  watch: SessionWatch
  env(session: Session, token: string): NodeJS.ProcessEnv
  warn(message: string): void
}

/** Why the command is being stopped: to start it again with this environment, or for good, failing with this error. */
type Stopping = {restartWith: NodeJS.ProcessEnv} | {failWith: MxtokError}

function supervise(start: typeof spawn, name: string, [file, ...args]: string[], env: NodeJS.ProcessEnv, follow?: Follow): Promise<number> {
  return new Promise((resolve, reject) => {
    // While the command runs, mxtok must not die of these itself: the command decides what they
    // mean. The handlers go in before the command starts, because it can run — and its supervisor
    // signal mxtok — before spawn() returns; a signal from that moment is held and passed on.
    let child: ChildProcess | undefined
    const held: NodeJS.Signals[] = []
    let stopping: Stopping | undefined
    let killTimer: NodeJS.Timeout | undefined
    let checkTimer: NodeJS.Timeout | undefined
    let settled = false

    const forward = (signal: NodeJS.Signals) => {
      // Told to stop while the command is being restarted: that is the last word, it is not started again.
      if (signal !== 'SIGHUP' && stopping && 'restartWith' in stopping) stopping = undefined
      if (child) child.kill(signal)
      else held.push(signal)
    }
    for (const s of FORWARDED_SIGNALS) process.on(s, forward)
    const settle = (end: () => void) => {
      if (settled) return
      settled = true
      for (const s of FORWARDED_SIGNALS) process.off(s, forward)
      clearTimeout(killTimer)
      clearTimeout(checkTimer)
      end()
    }

    const launch = (childEnv: NodeJS.ProcessEnv) => {
      child = undefined
      let current: ChildProcess
      try {
        current = start(file, args, {env: childEnv, stdio: 'inherit'})
      } catch (error) {
        return settle(() => reject(error))
      }
      child = current
      current.once('error', (error: NodeJS.ErrnoException) => settle(() => reject(spawnError(file, error))))
      current.once('exit', (code, signal) => {
        clearTimeout(killTimer)
        const why = stopping
        stopping = undefined
        if (why && 'failWith' in why) return settle(() => reject(why.failWith))
        if (why) {
          launch(why.restartWith)
          return watchLater()
        }
        settle(() => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)))
      })
      for (const signal of held.splice(0)) current.kill(signal)
    }

    const stop = (why: Stopping) => {
      if (!follow || !child) return
      stopping = why
      const current = child
      current.kill(follow.policy.signal)
      killTimer = setTimeout(() => current.kill('SIGKILL'), follow.policy.graceMs)
    }

    const check = async () => {
      if (!follow) return
      const seen = await follow.watch.check()
      if (settled) return
      switch (seen.kind) {
        case 'same':
          return watchLater()
        case 'changed':
          follow.warn(`session "${name}" has a new token: restarting ${file}`)
          return stop({restartWith: follow.env(seen.session, seen.token)})
        case 'ended':
          return stop({failWith: seen.error.withContext(` (${file} was stopped)`)})
      }
    }
    const watchLater = () => {
      if (follow && !settled) checkTimer = setTimeout(check, REGISTRY_POLL_MS)
    }

    launch(env)
    watchLater()
  })
}

function spawnError(file: string, error: NodeJS.ErrnoException): MxtokError {
  if (error.code === 'ENOENT') return new MxtokError('commandNotFound', `command not found: ${file}; check its name and PATH`, {cause: error})
  return new MxtokError('commandNotExecutable', `cannot run ${file} (${error.code ?? error.message}); check that it is an executable file`, {cause: error})
}
