import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {askYesNo} from '../../src/cli/confirm.js'

async function ask(input: string | null, signal = false) {
  const stdin = new PassThrough()
  const stderr = new PassThrough()
  let shown = ''
  stderr.on('data', (d) => (shown += d))
  const answer = askYesNo(stdin, stderr, 'Delete? [y/N] ')
  if (signal) process.emit('SIGINT', 'SIGINT')
  else if (input === null) stdin.end()
  else stdin.write(input)
  return {answer: await answer, shown, stdin}
}

describe('askYesNo', () => {
  it('is yes only for y or yes', async () => {
    for (const yes of ['y\n', 'Y\n', 'yes\n', ' yes \r\n']) expect((await ask(yes)).answer, yes).toBe(true)
    for (const no of ['\n', 'n\n', 'no\n', 'yess\n', 'sure\n']) expect((await ask(no)).answer, no).toBe(false)
  })

  it('shows the question on stderr', async () => {
    expect((await ask('y\n')).shown).toBe('Delete? [y/N] ')
  })

  it('answers no at the end of input and on Ctrl-C, and leaves no handler behind', async () => {
    const before = process.listenerCount('SIGINT')
    expect((await ask(null)).answer).toBe(false)
    expect((await ask(null, true)).answer).toBe(false)
    expect(process.listenerCount('SIGINT')).toBe(before)
  })
})
