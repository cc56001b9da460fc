import {describe, expect, it} from 'vitest'
import {parseDuration} from '../../src/core/duration.js'

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

describe('parseDuration', () => {
  it('reads a whole number and a unit', () => {
    expect(parseDuration('90m', '--expires')).toBe(90 * MINUTE)
    expect(parseDuration('30d', '--expires')).toBe(30 * DAY)
    expect(parseDuration('2w', '--expires')).toBe(14 * DAY)
    expect(parseDuration(' 45s ', '--expires')).toBe(45_000)
  })

  it('reads several units, largest first, as people write 1h30m', () => {
    expect(parseDuration('1h30m', '--expires')).toBe(90 * MINUTE)
    expect(parseDuration('1d12h', '--expiring-within')).toBe(36 * HOUR)
    expect(parseDuration('1w2d3h4m5s', '--expires')).toBe(9 * DAY + 3 * HOUR + 4 * MINUTE + 5_000)
    expect(parseDuration('2h0m', '--expires')).toBe(2 * HOUR)
  })

  it('refuses anything else, naming the flag and showing how to write one', () => {
    for (const text of ['', '30', 'm', '0m', '0h0m', '1.5h', '-1h', '1x', '30m1h', '1h1h', '1h 30m', '1234567890s']) {
      expect(() => parseDuration(text, '--expires'), text).toThrow(
        `--expires "${text}" is not a duration: write a whole number and a unit (s, m, h, d, w), e.g. 90m or 30d, or several, largest first, e.g. 1h30m`,
      )
    }
  })

  it('refuses a duration longer than 10 years, which a Date past its range would crash on, naming the flag and the longest', () => {
    expect(parseDuration('3653d', '--expires')).toBe(3653 * DAY)
    expect(parseDuration('521w6d', '--expires')).toBe(3653 * DAY)
    for (const text of ['3653d1s', '522w', '999999999w', '999999999w999999999d999999999h999999999m999999999s']) {
      expect(() => parseDuration(text, '--expiring-within'), text).toThrow(
        `--expiring-within "${text}" is longer than 10 years, the longest duration mxtok takes (3653d)`,
      )
    }
  })
})
