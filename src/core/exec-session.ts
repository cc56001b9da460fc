import {type ChildProcess, spawn} from 'node:child_process'
import {constants} from 'node:os'
import {MxtokError, usageError} from '../errors.js'
import {tokenDevice, tokenOwner} from '../registry/session.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readToken} from './find-session.js'

export interface ExecOptions {
  name: string
  /** The command and its arguments, run without a shell. */
  command: string[]
  /** The environment the command gets, without mxtok's own variables and with the session's four added. */
  env: NodeJS.ProcessEnv
  /** Replaced in tests. */
  spawn?: typeof spawn
}

/** Signals that, sent to mxtok, are meant for the command: a supervisor stopping a bot signals the process it started. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

/**
 * Runs a command with the session's token in its environment — the one place it goes: argv is
 * readable by every user of the machine, a file outlives the run. Resolves to the exit status to
 * pass on: the command's own, or 128 + the signal number when a signal ended it, as shells do.
 */
export async function execSession(opts: ExecOptions, deps: Deps): Promise<number> {
  if (opts.command.length === 0) throw usageError(`no command given: write it after "--", e.g. mxtok exec ${opts.name} -- ./run-bot`)
  const session = await findSession(opts.name, deps)
  const token = await readToken(session, deps)
  if (token === null) throw missingToken(session)
  const env: NodeJS.ProcessEnv = {
    ...withoutOwnVariables(opts.env),
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
  return run(opts.spawn ?? spawn, opts.command, env)
}

/**
 * The command gets one session, not mxtok: MXTOK_PASSPHRASE opens every session of the file store,
 * MXTOK_PASSWORD logs in as the account, MXTOK_ALLOW_HTTP loosens what a nested mxtok would send in
 * clear. The whole prefix goes, so that a variable added later cannot leak by being forgotten here.
 */
export function withoutOwnVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // Case-insensitive: Windows environment names are.
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^MXTOK_/i.test(name)))
}

function run(start: typeof spawn, [file, ...args]: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    // While the command runs, mxtok must not die of these itself: the command decides what they
    // mean. The handlers go in before the command starts, because it can run — and its supervisor
    // signal mxtok — before spawn() returns; a signal from that moment is held and passed on.
    let child: ChildProcess | undefined
    const held: NodeJS.Signals[] = []
    const forward = (signal: NodeJS.Signals) => (child ? child.kill(signal) : held.push(signal))
    for (const s of FORWARDED_SIGNALS) process.on(s, forward)
    let settled = false
    const settle = () => {
      if (settled) return false
      settled = true
      for (const s of FORWARDED_SIGNALS) process.off(s, forward)
      return true
    }
    try {
      child = start(file, args, {env, stdio: 'inherit'})
    } catch (error) {
      settle()
      return reject(error)
    }
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (settle()) reject(spawnError(file, error))
    })
    child.once('exit', (code, signal) => {
      if (settle()) resolve(code ?? 128 + (signal ? constants.signals[signal] : 0))
    })
    for (const signal of held) child.kill(signal)
  })
}

function spawnError(file: string, error: NodeJS.ErrnoException): MxtokError {
  if (error.code === 'ENOENT') return new MxtokError('commandNotFound', `command not found: ${file}; check its name and PATH`, {cause: error})
  return new MxtokError('commandNotExecutable', `cannot run ${file} (${error.code ?? error.message}); check that it is an executable file`, {cause: error})
}
