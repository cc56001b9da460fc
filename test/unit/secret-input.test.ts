import {EventEmitter} from 'node:events'
import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {MAX_SECRET_LINE_BYTES, promptHidden, readPassword} from '../../src/cli/password.js'
import {readTokenInput} from '../../src/cli/token-input.js'

/** Bytes without end, as `yes | tr -d '\n'` writes them, counting how many chunks were pulled. */
function endless(chunk: string, lead = '') {
  const pulled = {chunks: 0}
  const data = Buffer.from(chunk)
  const stream = Readable.from(
    (function* () {
      if (lead) yield Buffer.from(lead)
      for (;;) {
        pulled.chunks++
        yield data
      }
    })(),
  )
  return {stream: stream as unknown as NodeJS.ReadStream, pulled}
}

const stderr = {write: () => true} as unknown as NodeJS.WriteStream

describe('reading a secret from standard input', () => {
  it('refuses a first line without an end past 64 KiB with exit 2, and stops reading', async () => {
    const {stream, pulled} = endless('x'.repeat(4096))
    await expect(readPassword({passwordStdin: true, env: {}, stdin: stream, stderr, prompt: ''})).rejects.toMatchObject({
      kind: 'usage',
      message: '--password-stdin read more than 64 KiB without a newline; pipe the password followed by a newline',
    })
    // 64 KiB in chunks of 4 KiB, and not one chunk more than needed to know.
    expect(pulled.chunks).toBeLessThanOrEqual(MAX_SECRET_LINE_BYTES / 4096 + 2)
    expect(stream.destroyed).toBe(true)
  })

  it('takes the first line as soon as it ends, without waiting for the rest of the stream', async () => {
    const {stream, pulled} = endless('more\n', 'syt_token \r\nsecond line\n')
    expect(await readTokenInput({tokenStdin: true, stdin: stream, stderr, prompt: ''})).toBe('syt_token')
    expect(pulled.chunks).toBeLessThanOrEqual(1)
  })

  it('refuses an endless token on --token-stdin, naming that flag', async () => {
    const {stream} = endless('y'.repeat(100_000))
    await expect(readTokenInput({tokenStdin: true, stdin: stream, stderr, prompt: ''})).rejects.toMatchObject({
      kind: 'usage',
      message: '--token-stdin read more than 64 KiB without a newline; pipe the token followed by a newline',
    })
  })

  it('reads a line split across chunks, a character of several bytes included', async () => {
    const bytes = Buffer.from('pässwörd\nrest')
    const stream = Readable.from([bytes.subarray(0, 2), bytes.subarray(2, 3), bytes.subarray(3)]) as unknown as NodeJS.ReadStream
    expect(await readPassword({passwordStdin: true, env: {}, stdin: stream, stderr, prompt: ''})).toBe('pässwörd')
  })

  it('reads a last line without a newline, as `printf %s` writes it', async () => {
    const stream = Readable.from([Buffer.from('pw')]) as unknown as NodeJS.ReadStream
    expect(await readPassword({passwordStdin: true, env: {}, stdin: stream, stderr, prompt: ''})).toBe('pw')
  })
})

describe('the hidden prompt', () => {
  it('refuses typing or pasting past 64 KiB, and gives the terminal back', async () => {
    const tty = Object.assign(new EventEmitter(), {
      raw: false,
      setRawMode(on: boolean) {
        tty.raw = on
        return tty
      },
      resume: () => tty,
      pause: () => tty,
    })
    const asked = promptHidden(tty as unknown as NodeJS.ReadStream, stderr, 'Password: ')
    for (let i = 0; i < 20; i++) tty.emit('data', Buffer.from('z'.repeat(4096)))
    await expect(asked).rejects.toMatchObject({kind: 'usage', message: 'the value typed is longer than 64 KiB; nothing was read'})
    expect(tty.raw).toBe(false)
    expect(tty.listenerCount('data')).toBe(0)
  })
})
