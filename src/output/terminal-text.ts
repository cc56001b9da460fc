/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts escape sequences, CR and
 * backspace overwrite, BEL rings), DEL, C1 controls (U+009B is a CSI on its own), the line and
 * paragraph separators, and the bidi controls that reorder what follows them. Lone surrogates are
 * here too: they cannot be written as UTF-8 at all.
 */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** The same set for JSON, whose strings may carry all of them raw: JSON.stringify escapes only C0. */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g

const hex = (c: string, width: number) => c.charCodeAt(0).toString(16).padStart(width, '0')

/**
 * Text from a server or a foreign file, made inert for a terminal: each unsafe character shown as
 * an escape (`\x1b`, `\u202e`) and a lone surrogate as U+FFFD, so that what was sent stays visible
 * without ever acting. Safe text is returned as it is, so applying it twice changes nothing.
 */
export function inert(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c >= '\ud800' && c <= '\udfff') return '\ufffd'
    return c <= '\u00ff' ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`
  })
}

/** A value as JSON that keeps the exact data yet carries no character a terminal acts on. */
export function inertJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c, 4)}`)
}
