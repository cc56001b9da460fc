/**
 * How many terminal columns text takes. Wide East Asian characters and emoji take two, combining
 * marks and zero-width characters none. An approximation of wcwidth that covers what device names
 * and user IDs carry; text reaching here has already been made inert, so it holds no controls.
 */
// biome-ignore lint/suspicious/noMisleadingCharacterClass: tested one code point at a time, never against a sequence
const ZERO_WIDTH = /[\p{Mn}\p{Me}\u200b-\u200d\ufe00-\ufe0f]/u
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u

const charWidth = (c: string) => (c.charCodeAt(0) < 0x300 ? 1 : ZERO_WIDTH.test(c) ? 0 : WIDE.test(c) ? 2 : 1)

export function displayWidth(text: string): number {
  // Plain ASCII, nearly every cell, needs no look at each character.
  if (/^[\x20-\x7e]*$/.test(text)) return text.length
  let width = 0
  for (const c of text) width += charWidth(c)
  return width
}

/** The text cut to at most `width` columns, ending in "…" when anything was cut. */
export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text
  if (width <= 0) return ''
  let out = ''
  let used = 0
  for (const c of text) {
    const w = charWidth(c)
    if (used + w > width - 1) break
    out += c
    used += w
  }
  return `${out}…`
}

/** Pads with spaces to `width` columns. */
export const padTo = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - displayWidth(text)))
