import {createCipheriv, createHmac, getDiffieHellman, randomBytes} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {decryptSecret, deriveKey, keyAgreement} from '../../src/store/secret-service/secret-crypto.js'

describe('keyAgreement', () => {
  it('agrees with the classic Diffie-Hellman API on the same group, from either side', () => {
    const theirs = getDiffieHellman('modp2')
    theirs.generateKeys()
    // A pair whose shared secret starts with a zero byte gives no key (next test): pick one that does not.
    const ours = Array.from({length: 8}, () => keyAgreement()).find((a) => a.sessionKey(theirs.getPublicKey()) !== undefined)!
    expect(ours.publicValue).toHaveLength(128)
    expect(ours.sessionKey(theirs.getPublicKey())).toEqual(deriveKey(theirs.computeSecret(ours.publicValue)))
    const pairs = Array.from({length: 8}, () => [keyAgreement(), keyAgreement()] as const)
    const [a, b] = pairs.find(([x, y]) => x.sessionKey(y.publicValue) !== undefined)!
    expect(a.sessionKey(b.publicValue)).toEqual(b.sessionKey(a.publicValue))
    expect(a.sessionKey(b.publicValue)).toHaveLength(16)
  })

  it('gives no key when the shared secret starts with a zero byte, which KWallet and libsecret derive differently', () => {
    const theirs = getDiffieHellman('modp2')
    theirs.generateKeys()
    let zeroLed = 0
    let keyed = 0
    for (let i = 0; i < 3000 && zeroLed < 3; i++) {
      const ours = keyAgreement()
      const shared = theirs.computeSecret(ours.publicValue)
      const key = ours.sessionKey(theirs.getPublicKey())
      // Whether computeSecret keeps the leading zeros or drops them, such a secret is caught.
      if (shared.length < 128 || shared[0] === 0) {
        zeroLed++
        expect(key).toBeUndefined()
      } else {
        keyed++
        expect(key).toEqual(deriveKey(shared))
      }
    }
    expect(zeroLed).toBeGreaterThan(0)
    expect(keyed).toBeGreaterThan(0)
  })

  it('always sends 128 bytes: kwalletd5 refuses a shorter public value, which one key in 256 would give without its leading zeros', () => {
    const lengths = new Set(Array.from({length: 2000}, () => keyAgreement().publicValue.length))
    expect([...lengths]).toEqual([128])
  })

  it('refuses a public value outside the group', () => {
    expect(() => keyAgreement().sessionKey(Buffer.from([1]))).toThrow()
    expect(() => keyAgreement().sessionKey(Buffer.alloc(0))).toThrow()
  })
})

describe('deriveKey', () => {
  // HKDF-SHA256 written out (RFC 5869): no salt means a salt of 32 zero bytes; no info.
  const hkdf16 = (ikm: Buffer) => {
    const prk = createHmac('sha256', Buffer.alloc(32)).update(ikm).digest()
    return createHmac('sha256', prk)
      .update(Buffer.from([1]))
      .digest()
      .subarray(0, 16)
  }

  it('is HKDF-SHA256 of the shared secret zero-padded to 128 bytes, 16 bytes long', () => {
    const full = randomBytes(128)
    full[0] |= 0x80
    expect(deriveKey(full)).toEqual(hkdf16(full))
    const short = randomBytes(126)
    expect(deriveKey(short)).toEqual(hkdf16(Buffer.concat([Buffer.alloc(2), short])))
    expect(deriveKey(short)).not.toEqual(hkdf16(short))
  })
})

describe('decryptSecret', () => {
  const key = randomBytes(16)
  const iv = randomBytes(16)
  const encrypt = (plain: Buffer, k = key) => {
    const c = createCipheriv('aes-128-cbc', k, iv)
    return Buffer.concat([c.update(plain), c.final()])
  }

  it.each(['', 'x', '0123456789abcdef', 'tøken ✓ 🔑', 'a'.repeat(1000)])('reads back %j', (secret) => {
    expect(decryptSecret(key, iv, encrypt(Buffer.from(secret)))).toBe(secret)
  })

  it('gives nothing for a wrong key, a bad IV, a broken value or bytes that are not UTF-8', () => {
    const value = encrypt(Buffer.from('0123456789abcdef'))
    const wrong = decryptSecret(randomBytes(16), iv, value)
    // A wrong key passes the padding check about once in 256 tries; then the text is garbage, never the secret.
    expect(wrong === undefined || wrong !== '0123456789abcdef').toBe(true)
    expect(decryptSecret(key, iv.subarray(0, 8), value)).toBeUndefined()
    expect(decryptSecret(key, iv, value.subarray(0, 20))).toBeUndefined()
    expect(decryptSecret(key, iv, encrypt(Buffer.from([0xff, 0xfe, 0x41])))).toBeUndefined()
  })
})
