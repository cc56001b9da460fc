import {type Sink, writeStatus} from '../../output/terminal.js'
import {eraseStatusLine} from '../../output/terminal-control.js'
import {truncate} from '../../output/text-width.js'

export interface StatusLine {
  /** Shows this text in place of what was there; '' shows nothing. */
  set(text: string): void
  /** Takes the line away while `print` writes rows, then shows it again below them. */
  around(print: () => void): void
  /** Takes the line away for good. */
  end(): void
}

/**
 * One line at the bottom of a terminal, on stderr, redrawn in place. Cut to the terminal's width:
 * a wrapped line could not be erased with one "erase line".
 */
export function statusLine(stderr: Sink, columns: number): StatusLine {
  let shown = ''
  const draw = (text: string) => {
    if (shown) eraseStatusLine(stderr)
    shown = truncate(text, Math.max(columns - 1, 10))
    if (shown) writeStatus(stderr, shown)
  }
  return {
    set: (text) => {
      if (truncate(text, Math.max(columns - 1, 10)) !== shown) draw(text)
    },
    around: (print) => {
      const text = shown
      draw('')
      print()
      draw(text)
    },
    end: () => draw(''),
  }
}
