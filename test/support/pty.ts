import {spawn} from 'node:child_process'
import {resolve} from 'node:path'
import {BIN} from './cli.js'

const HELPER = resolve(import.meta.dirname, 'pty-run.py')

export interface PtyChunk {
  fd: 1 | 2
  /** Milliseconds after the start. */
  t: number
  text: string
}

export interface PtyRun {
  /** Types into the terminal. */
  type(text: string): void
  /**
   * Resolves once what was written (to fd 1, or both with one terminal) matches; with `from`, only
   * what was written after that many characters (see `seen`).
   */
  waitFor(pattern: RegExp, opts?: {from?: number; timeoutMs?: number}): Promise<string>
  /** How many characters have been written so far. */
  seen(): number
  readonly chunks: PtyChunk[]
  done: Promise<{code: number; stdout: string; stderr: string; chunks: PtyChunk[]}>
  kill(): void
}

export interface PtyOptions {
  env: Record<string, string | undefined>
  cols?: number
  rows?: number
  /** Standard error on a terminal of its own, to tell it from standard output. */
  split?: boolean
}

/**
 * A program on a pseudo-terminal, through python3's pty module (no native npm package to build):
 * the program sees a terminal on standard input and output, as a person's shell gives it.
 */
export function onPty(command: string, args: string[], opts: PtyOptions): PtyRun {
  const env: Record<string, string> = {PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', TERM: 'xterm-256color'}
  for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v
  const helperArgs = [HELPER, String(opts.cols ?? 100), String(opts.rows ?? 40), ...(opts.split ? ['--split'] : []), '--', command, ...args]
  const child = spawn('python3', helperArgs, {env: {...process.env, PTY_RUN_ENV: JSON.stringify(env)}, stdio: ['pipe', 'pipe', 'inherit']})
  const chunks: PtyChunk[] = []
  const waiters = new Set<() => void>()
  let buffered = ''
  let exit: number | undefined
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (data: string) => {
    buffered += data
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buffered.slice(0, nl)) as {fd?: 1 | 2; t?: number; b64?: string; exit?: number}
      buffered = buffered.slice(nl + 1)
      if (msg.exit !== undefined) exit = msg.exit
      else chunks.push({fd: msg.fd!, t: msg.t!, text: Buffer.from(msg.b64!, 'base64').toString('utf8')})
    }
    for (const w of waiters) w()
  })
  const text = (fd: 1 | 2) =>
    chunks
      .filter((c) => c.fd === fd)
      .map((c) => c.text)
      .join('')
  const done = new Promise<{code: number; stdout: string; stderr: string; chunks: PtyChunk[]}>((resolvePromise, reject) => {
    child.on('error', reject)
    child.on('close', () => resolvePromise({code: exit ?? -1, stdout: text(1), stderr: text(2), chunks}))
  })
  return {
    type: (t) => void child.stdin.write(t),
    chunks,
    done,
    kill: () => void child.kill('SIGKILL'),
    seen: () => text(1).length,
    waitFor: (pattern, {from = 0, timeoutMs = 10_000} = {}) =>
      new Promise((resolvePromise, reject) => {
        const check = () => {
          const seen = text(1).slice(from)
          if (!pattern.test(seen)) return false
          waiters.delete(check)
          clearTimeout(timer)
          resolvePromise(seen)
          return true
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no ${pattern} on the terminal within ${timeoutMs} ms; it shows:\n${text(1).slice(from)}`))
        }, timeoutMs)
        if (!check()) waiters.add(check)
      }),
  }
}

/** mxtok itself on a terminal, run to its end. */
export function mxtokOnPty(args: string[], opts: PtyOptions) {
  const run = onPty(process.execPath, [BIN, ...args], opts)
  run.type('')
  return run.done
}
