/** Edits between two words, a swap of neighbours counting as one (`lsit` is one edit from `list`). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({length: a.length + 1}, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/**
 * The candidate the user most likely meant: the start of exactly one (`ver` for verify), else the
 * nearest within a third of the word's length (at least one edit). None when nothing is near.
 */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const word = input.toLowerCase()
  if (word.length >= 2) {
    const starts = candidates.filter((c) => c.toLowerCase().startsWith(word))
    if (starts.length === 1) return starts[0]
  }
  const limit = Math.max(1, Math.floor(word.length / 3))
  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const distance = editDistance(word, c.toLowerCase())
    if (distance < bestDistance) [best, bestDistance] = [c, distance]
  }
  return bestDistance <= limit ? best : undefined
}
