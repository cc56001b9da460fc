import {usageError} from '../errors.js'

const UNIT_MS: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/** Whole numbers with units, each unit at most once, largest first: "90m", "30d", "1h30m". */
const DURATION = /^(?:(\d{1,9})w)?(?:(\d{1,9})d)?(?:(\d{1,9})h)?(?:(\d{1,9})m)?(?:(\d{1,9})s)?$/
const UNITS = ['w', 'd', 'h', 'm', 's']

/**
 * A duration as people write it on a command line: a whole number and a unit (s, m, h, d, w), or
 * several, largest first, e.g. "90m", "30d", "1h30m". `flag` names the option in the error.
 */
export function parseDuration(text: string, flag: string): number {
  const match = DURATION.exec(text.trim())
  const ms = match ? UNITS.reduce((sum, unit, i) => sum + Number(match[i + 1] ?? 0) * UNIT_MS[unit], 0) : 0
  if (ms === 0)
    throw usageError(
      `${flag} "${text}" is not a duration: write a whole number and a unit (s, m, h, d, w), e.g. 90m or 30d, or several, largest first, e.g. 1h30m`,
    )
  return ms
}
