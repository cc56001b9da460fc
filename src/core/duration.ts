import {usageError} from '../errors.js'

const UNIT_MS: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/** Whole numbers with units, each unit at most once, largest first: "90m", "30d", "1h30m". */
const DURATION = /^(?:(\d{1,9})w)?(?:(\d{1,9})d)?(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9})s)?$/
const UNITS = ['w', 'd', 'h', 'm', 's']

/**
 * The longest duration mxtok takes: 10 years (3653 days). Far past any token's useful life, and far
 * inside what a Date can hold, so that "now" plus it is always a date; "never" is how to ask for no end.
 */
export const MAX_DURATION_MS = 3653 * UNIT_MS.d

/**
 * A duration as people write it on a command line: a whole number and a unit (s, m, h, d, w), or
 * several, largest first, e.g. "90m", "30d", "1h30m", up to MAX_DURATION_MS. `flag` names the option in
 * the error; `orElse` ends the error for one too long, with what to give instead.
 */
export function parseDuration(text: string, flag: string, orElse = ''): number {
  const match = DURATION.exec(text.trim())
  const ms = match ? UNITS.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * UNIT_MS[unit], 0) : 0
  if (ms === 0)
    throw usageError(
      `${flag} "${text}" is not a duration: write a whole number and a unit (s, m, h, d, w), e.g. 90m or 30d, or several, largest first, e.g. 1h30m`,
    )
  if (ms > MAX_DURATION_MS) throw usageError(`${flag} "${text}" is longer than 10 years, the longest duration mxtok takes (3653d)${orElse}`)
  return ms
}
