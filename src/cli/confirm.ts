import {createInterface} from 'node:readline'
import {inert} from '../output/terminal-text.js'

/**
 * Asks a question on a terminal and waits for a line; only "y" or "yes" is a yes. Ctrl-C and the
 * end of input answer no, so that the caller's clean-up still runs.
 */
export function askYesNo(stdin: NodeJS.ReadableStream, stderr: NodeJS.WritableStream, question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const lines = createInterface({input: stdin, terminal: false})
    let answered = false
    const answer = (yes: boolean) => {
      if (answered) return
      answered = true
      process.off('SIGINT', interrupted)
      lines.close()
      resolve(yes)
    }
    const interrupted = () => {
      stderr.write('\n')
      answer(false)
    }
    process.on('SIGINT', interrupted)
    lines.once('line', (line) => answer(/^y(es)?$/i.test(line.trim())))
    lines.once('close', () => answer(false))
    stderr.write(inert(question))
  })
}
