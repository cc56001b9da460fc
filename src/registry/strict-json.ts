/**
 * JSON.parse, but a key written twice in one object is an error instead of the last one silently
 * winning: in a hand-edited registry, the entry that wins may not be the one the editor meant.
 * Returns the name of the first duplicate key, or undefined. Call it only on text that parsed.
 */
export function duplicateKey(text: string): string | undefined {
  // One set of keys per open object, null for an array; an object expects a key after "{" and ",".
  const open: Array<Set<string> | null> = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x22 /* " */) {
      let end = i + 1
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c /* \ */ ? 2 : 1
      const keys = open.at(-1)
      if (expectKey && keys) {
        // Escapes are rare in keys; only then is the key decoded to compare what it means.
        const raw = text.slice(i + 1, end)
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw
        if (keys.has(key)) return key
        keys.add(key)
        expectKey = false
      }
      i = end
    } else if (c === 0x7b /* { */) {
      open.push(new Set())
      expectKey = true
    } else if (c === 0x5b /* [ */) open.push(null)
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) open.pop()
    else if (c === 0x2c /* , */) expectKey = open.at(-1) instanceof Set
  }
  return undefined
}
