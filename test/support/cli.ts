import {spawn} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {expect} from 'vitest'

export const BIN = resolve(import.meta.dirname, '../../bin/run.cjs')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  env?: Record<string, string | undefined>
  input?: string
  timeoutMs?: number
  /** Sees standard error as it arrives, for a test that must act while the command waits (a browser sign-in). */
  onStderr?: (soFar: string) => void
}

/** Runs the built mxtok as a user would: a separate process, with only the environment given. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8'}
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {env, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => {
      stderr += d
      opts.onStderr?.(stderr)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolvePromise({code, stdout, stderr})
    })
    child.stdin.end(opts.input ?? '')
  })
}

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix))

/** No secret the test has seen may show up in a run's output. */
export function expectNoSecrets(r: CliResult, secrets: Iterable<string>, opts: {stdoutToo?: boolean} = {stdoutToo: true}): void {
  for (const s of secrets) {
    if (opts.stdoutToo) expect(r.stdout, 'stdout leaks a secret').not.toContain(s)
    expect(r.stderr, 'stderr leaks a secret').not.toContain(s)
  }
}

/** An error for a person: one line, named, without a stack trace. */
export function expectOneLineError(r: CliResult): void {
  expect(r.stderr.trim().split('\n')).toHaveLength(1)
  expect(r.stderr).toMatch(/^mxtok: /)
  expect(r.stderr).not.toMatch(/\bat .*\.[cm]?js:\d+/)
}

export type Env = Record<string, string | undefined>

/**
 * mxtok for one test file: its keyring, its config directory (read at each run, so it may be set
 * in beforeAll), and a watch that no secret it has seen shows up outside `mxtok token`'s stdout.
 */
export function mxtokRunner(keyringEnv: Env, configDir: () => string, secrets: Set<string>) {
  const env = (extra: Env = {}): Env => ({...keyringEnv, HOME: configDir(), MXTOK_CONFIG_DIR: configDir(), ...extra})
  const mxtok = async (args: string[], extra: Env = {}, input?: string) => {
    const r = await runCli(args, {env: env(extra), input})
    expectNoSecrets(r, secrets, {stdoutToo: args[0] !== 'token'})
    return r
  }
  /** A session's token, which from then on counts among the secrets that no other output may show. */
  const token = async (name: string, extra: Env = {}): Promise<string> => {
    const r = await mxtok(['token', name], extra)
    expect(r.code, r.stderr).toBe(0)
    const t = r.stdout.trim()
    secrets.add(t)
    return t
  }
  return {env, mxtok, token}
}
