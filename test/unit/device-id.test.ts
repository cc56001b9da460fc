import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {base32, deriveDeviceId} from '../../src/matrix/device-id.js'

describe('deriveDeviceId', () => {
  // Vectors computed independently with Python's hashlib and base64.b32encode.
  it.each([
    ['@alice:example.com', 'bot', 'MXTOK6RMGZVJFVN'],
    ['@bot:localhost', 'bridge', 'MXTOKRESDVQOAWB'],
    ['@ünï:example.org:8448', 'a.b-c_d', 'MXTOK6RR222XA4G'],
  ])('%s + %s -> %s', (user, name, expected) => {
    expect(deriveDeviceId(user, name)).toBe(expected)
  })

  it('is always MXTOK + 10 base32 characters, and differs when the name differs', () => {
    fc.assert(
      fc.property(fc.string({minLength: 1}), fc.string({minLength: 1}), fc.string({minLength: 1}), (user, a, b) => {
        expect(deriveDeviceId(user, a)).toMatch(/^MXTOK[A-Z2-7]{10}$/)
        expect(deriveDeviceId(user, a)).toBe(deriveDeviceId(user, a))
        fc.pre(a !== b)
        expect(deriveDeviceId(user, a)).not.toBe(deriveDeviceId(user, b))
      }),
    )
  })
})

describe('base32', () => {
  // RFC 4648 section 10 test vectors, padding removed.
  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ])('%j -> %s', (input, expected) => {
    expect(base32(Buffer.from(input))).toBe(expected)
  })
})
