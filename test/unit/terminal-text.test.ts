import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {writeLines} from '../../src/output/terminal.js'
import {inert, inertJson} from '../../src/output/terminal-text.js'

// What a terminal acts on: C0, DEL, C1, the line and paragraph separators, the bidi controls.
const ACTS_ON_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/
const HOSTILE = [
  '\u001b[31m',
  '\u001b]8;;http://evil\u0007',
  '\u0007',
  '\r',
  '\b',
  '\u009b2J',
  '\u0085',
  '\u202e',
  '\u2066',
  '\n',
  '\t',
  '\u0000',
  '\u007f',
  '\ud800',
  '\udfff',
]

/** Strings that mix ordinary text, every Unicode plane, and the sequences a hostile server sends. */
const anyText = fc
  .array(fc.oneof(fc.string({unit: 'grapheme'}), fc.string({unit: 'binary'}), fc.constantFrom(...HOSTILE)), {maxLength: 8})
  .map((parts) => parts.join(''))

describe('text from outside, made inert for a terminal', () => {
  it('never emits a byte a terminal acts on, for any input', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const shown = inert(text)
        expect(shown).not.toMatch(ACTS_ON_TERMINAL)
        // Written as UTF-8 and read back: no lone surrogate became something else on the way.
        expect(Buffer.from(shown, 'utf8').toString('utf8')).toBe(shown)
      }),
      {numRuns: 2000},
    )
  })

  it('shows what was sent instead of obeying it', () => {
    expect(inert('bot\u001b[2J\u0007')).toBe('bot\\x1b[2J\\x07')
    expect(inert('a\rb\bc\u009bd')).toBe('a\\x0db\\x08c\\x9bd')
    expect(inert('evil\u202etxt.exe')).toBe('evil\\u202etxt.exe')
    expect(inert('line\nforged')).toBe('line\\x0aforged')
    expect(inert('half \ud800 pair')).toBe('half \ufffd pair')
  })

  it('leaves safe text alone, so applying it twice changes nothing', () => {
    expect(inert('mxtok: Zoë 🤖 ☃ 東京 @bot:example.com')).toBe('mxtok: Zoë 🤖 ☃ 東京 @bot:example.com')
    fc.assert(
      fc.property(anyText, (text) => {
        expect(inert(inert(text))).toBe(inert(text))
      }),
    )
  })

  it('keeps the exact data in JSON, escaped so that it cannot act either', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const out = inertJson({displayName: text})
        expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/)
        expect(JSON.parse(out)).toEqual({displayName: text})
      }),
      {numRuns: 2000},
    )
  })

  it('writes each line inert, so a line break inside a line cannot forge another', () => {
    let written = ''
    writeLines({write: (t: string) => (written += t)}, ['NAME  DEVICE', 'bot   ABC\nfake  row\u001b[1A'])
    expect(written).toBe('NAME  DEVICE\nbot   ABC\\x0afake  row\\x1b[1A\n')
  })
})
