import {usageError} from '../errors.js'
import {inert} from '../output/terminal-text.js'

export interface PasswordSources {
  passwordStdin: boolean
  env: NodeJS.ProcessEnv
  stdin: NodeJS.ReadStream
  stderr: NodeJS.WriteStream
  prompt: string
}

/**
 * The password never comes from a flag value: argv is visible to every user of the machine.
 * Order: --password-stdin (first line), MXTOK_PASSWORD, a prompt that does not echo on a terminal.
 */
export async function readPassword(src: PasswordSources): Promise<string> {
  if (src.passwordStdin) {
    const line = await readFirstLine(src.stdin)
    if (!line) throw usageError('--password-stdin read an empty password; pipe the password in, e.g. from a password manager')
    return line
  }
  if (src.env.MXTOK_PASSWORD) return src.env.MXTOK_PASSWORD
  if (src.stdin.isTTY) return promptHidden(src.stdin, src.stderr, src.prompt)
  throw usageError('no password given: pipe it with --password-stdin, set MXTOK_PASSWORD, or run in a terminal to be asked')
}

/** The first line of everything piped in: a secret followed by a newline, as `printf '%s\n'` and `echo` write it. */
export async function readFirstLine(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer))
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]
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
      }
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onData)
  })
}
