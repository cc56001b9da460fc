import {usageError} from '../errors.js'

const UNIT_MS: Record<string, number> = {s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/**
 * A duration as people write it on a command line: a whole number and a unit (s, m, h, d, w), e.g.
 * "90m", "30d". `flag` names the option in the error.
 */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d{1,9})([smhdw])$/.exec(text.trim())
  if (!match || Number(match[1]) === 0) throw usageError(`${flag} "${text}" is not a duration: write a whole number and a unit, e.g. 90m, 12h, 30d or 2w`)
  return Number(match[1]) * UNIT_MS[match[2]]
}
