import type {RateLimitWait} from '../../matrix/http.js'
import {statusLine} from './status-line.js'

/**
 * Shows each wait on a 429 in a status line on stderr, counting down, and takes it away when the
 * wait ends, before the request is sent again: a run that then prints and exits leaves no trace of it.
 */
export function rateLimitLine(stderr: NodeJS.WriteStream, columns: number, now: () => number = Date.now): (wait: RateLimitWait) => void {
  const line = statusLine(stderr, columns)
  let ticking: NodeJS.Timeout | undefined
  return (wait) => {
    clearInterval(ticking)
    const ends = now() + wait.waitMs
    const budget = Math.round(wait.budgetMs / 1000)
    const draw = () =>
      line.set(
        `rate-limited by ${wait.host}, waiting ${Math.max(1, Math.ceil((ends - now()) / 1000))} s, retry ${wait.retry} (mxtok waits up to ${budget} s in all)`,
      )
    draw()
    ticking = setInterval(draw, 1000)
    ticking.unref()
    // Set before the wait's own timer, with the same delay: it fires first.
    setTimeout(() => {
      clearInterval(ticking)
      line.end()
    }, wait.waitMs).unref()
  }
}
