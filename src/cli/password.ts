import {usageError} from '../errors.js'
import {inert} from '../output/terminal-text.js'
import type {Io} from './io.js'

export interface PasswordSources {
  passwordStdin: boolean
  env: NodeJS.ProcessEnv
  stdin: NodeJS.ReadStream
  stderr: NodeJS.WriteStream
  prompt: string
}

/** The password of `user`, asked for only when the use case needs it, from the sources readPassword knows. */
export const passwordOf =
  (user: string, passwordStdin: boolean, io: Io): (() => Promise<string>) =>
  () =>
    readPassword({passwordStdin, env: io.env, stdin: io.stdin, stderr: io.stderr, prompt: `Password for ${user}: `})

/**
 * The password never comes from a flag value: argv is visible to every user of the machine.
 * Order: --password-stdin (first line), MXTOK_PASSWORD, a prompt that does not echo on a terminal.
 */
export async function readPassword(src: PasswordSources): Promise<string> {
  if (src.passwordStdin) {
    const line = await readFirstLine(src.stdin, '--password-stdin', 'password')
    if (!line) throw usageError('--password-stdin read an empty password; pipe the password in, e.g. from a password manager')
    return line
  }
  if (src.env.MXTOK_PASSWORD) return src.env.MXTOK_PASSWORD
  if (src.stdin.isTTY) return promptHidden(src.stdin, src.stderr, src.prompt)
  throw usageError('no password given: pipe it with --password-stdin, set MXTOK_PASSWORD, or run in a terminal to be asked')
}

/**
 * The longest secret mxtok reads from standard input or a prompt: far past any password or token,
 * and a bound on what a stream without a newline (a wrong file, `yes`) can make mxtok hold.
 */
export const MAX_SECRET_LINE_BYTES = 64 * 1024

/**
 * The first line piped in: a secret followed by a newline, as `printf '%s\n'` and `echo` write it.
 * Reading stops at the newline, so the rest of the stream is never waited for; `flag` and `what`
 * name the input in the error for a line without an end.
 */
export async function readFirstLine(stream: NodeJS.ReadableStream, flag: string, what: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  // Leaving the loop early destroys the stream: nothing more is read.
  for await (const chunk of stream) {
    const bytes = Buffer.from(chunk as Buffer)
    const end = bytes.indexOf(0x0a)
    chunks.push(end === -1 ? bytes : bytes.subarray(0, end))
    size += end === -1 ? bytes.length : end
    if (size > MAX_SECRET_LINE_BYTES) throw usageError(`${flag} read more than 64 KiB without a newline; pipe the ${what} followed by a newline`)
    if (end !== -1) break
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '')
}

export function promptHidden(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream, prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    stderr.write(inert(prompt))
    let value = ''
    const done = (err?: Error) => {
      stdin.setRawMode(false)
      stdin.pause()
      stdin.off('data', onData)
      stderr.write('\n')
      if (err) reject(err)
      else resolve(value)
    }
    const onData = (data: Buffer) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done(value ? undefined : usageError('empty password'))
        if (ch === '\u0003') return done(usageError('cancelled'))
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1)
        else value += ch
        if (value.length > MAX_SECRET_LINE_BYTES) return done(usageError('the value typed is longer than 64 KiB; nothing was read'))
      }
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onData)
  })
}
