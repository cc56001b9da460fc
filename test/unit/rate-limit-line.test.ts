import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import {rateLimitLine} from '../../src/cli/live/rate-limit-line.js'

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

/** What a terminal shows on its last line: the text after the last erase. */
function terminal() {
  let written = ''
  const stderr = {write: (text: string) => ((written += text), true)} as unknown as NodeJS.WriteStream
  return {stderr, shown: () => written.split('\r\x1b[2K').at(-1)!}
}

describe('rateLimitLine', () => {
  it('shows the wait on a rate limit, counting down, and takes the line away when the wait ends', () => {
    const t = terminal()
    const notify = rateLimitLine(t.stderr, 120, Date.now)
    notify({host: 'matrix.example.com', waitMs: 6000, retry: 2, waitedMs: 6000, budgetMs: 180_000})
    expect(t.shown()).toBe('rate-limited by matrix.example.com, waiting 6 s, retry 2 (mxtok waits up to 180 s in all)')
    vi.advanceTimersByTime(2000)
    expect(t.shown()).toBe('rate-limited by matrix.example.com, waiting 4 s, retry 2 (mxtok waits up to 180 s in all)')
    vi.advanceTimersByTime(4000)
    expect(t.shown()).toBe('')
  })
})
