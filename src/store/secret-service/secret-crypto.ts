// The cryptography of a Secret Service session with the dh-ietf1024-sha256-aes128-cbc-pkcs7
// algorithm: a Diffie-Hellman exchange in the 1024-bit MODP group of RFC 2409 ("modp2"), an AES key
// derived from it, and the decryption of the secrets the service sends.
import {createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject, randomBytes} from 'node:crypto'

const PRIME_BYTES = 128

// Node has generated 'dh' key pairs since 15; @types/node lacks the overload.
declare module 'crypto' {
  function generateKeyPairSync(type: 'dh', options: {group: string}): KeyPairKeyObjectResult
}

export interface KeyAgreement {
  /** Our public value, big-endian: what OpenSession takes as input. */
  publicValue: Buffer
  /**
   * The AES-128 key shared with the holder of `peer`, the service's public value; undefined when
   * the shared secret begins with a zero byte: libsecret and gnome-keyring pad it to the prime's
   * length before the HKDF, and a service that derives from it unpadded would decrypt to nothing.
   * KWallet failed about one session in a few hundred here until such keys were agreed afresh,
   * which costs the caller one more OpenSession, one time in 256.
   */
  sessionKey(peer: Buffer): Buffer | undefined
}

/**
 * A fresh key pair. Through KeyObjects rather than crypto.getDiffieHellman('modp2'), which checks
 * that the group's prime is a safe prime every time (about 50 ms, more than all the rest of a read).
 */
export function keyAgreement(): KeyAgreement {
  const {privateKey, publicKey} = generateKeyPairSync('dh', {group: 'modp2'})
  const spki = publicKey.export({format: 'der', type: 'spki'})
  // SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier (the group), BIT STRING { INTEGER y } }
  const outer = readTlv(spki, 0, 0x30)
  const algorithm = readTlv(spki, outer.start, 0x30)
  const bits = readTlv(spki, algorithm.end, 0x03)
  const y = readTlv(spki, bits.start + 1, 0x02)
  const group = spki.subarray(outer.start, algorithm.end)
  return {
    // Always the prime's length: kwalletd5 refuses any other ("Client public key size is invalid"),
    // and without its leading zeros one value in 256 would be shorter.
    publicValue: padded(unsigned(spki.subarray(y.start, y.end)), PRIME_BYTES),
    sessionKey(peer: Buffer): Buffer | undefined {
      const peerKey: KeyObject = createPublicKey({
        key: tlv(0x30, Buffer.concat([group, tlv(0x03, Buffer.concat([Buffer.from([0]), tlv(0x02, signedInteger(peer))]))])),
        format: 'der',
        type: 'spki',
      })
      const shared = diffieHellman({privateKey, publicKey: peerKey})
      try {
        if (shared.length < PRIME_BYTES || shared[0] === 0) return undefined
        return deriveKey(shared)
      } finally {
        shared.fill(0)
      }
    },
  }
}

/**
 * The AES key as libsecret and gnome-keyring derive it: HKDF-SHA256 of the shared secret, zero-padded
 * to the prime's length, with no salt and no info.
 */
export function deriveKey(shared: Buffer): Buffer {
  const ikm = Buffer.alloc(Math.max(PRIME_BYTES, shared.length))
  shared.copy(ikm, ikm.length - shared.length)
  try {
    return Buffer.from(hkdfSync('sha256', ikm, Buffer.alloc(0), Buffer.alloc(0), 16))
  } finally {
    ikm.fill(0)
  }
}

const utf8 = new TextDecoder('utf-8', {fatal: true})

/**
 * A secret as the service sends it in the session: AES-128-CBC, PKCS#7 padding, the IV as the
 * parameters. undefined when it does not decrypt to UTF-8 text.
 */
export function decryptSecret(key: Buffer, parameters: Buffer, value: Buffer): string | undefined {
  let plain: Buffer | undefined
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, parameters)
    plain = Buffer.concat([decipher.update(value), decipher.final()])
    return utf8.decode(plain)
  } catch {
    return undefined
  } finally {
    plain?.fill(0)
  }
}

/** A secret as the service expects it in the session: AES-128-CBC, PKCS#7 padding, a fresh IV as the parameters. */
export function encryptSecret(key: Buffer, text: string): {parameters: Buffer; value: Buffer} {
  const parameters = randomBytes(16)
  const plain = Buffer.from(text, 'utf8')
  try {
    const cipher = createCipheriv('aes-128-cbc', key, parameters)
    return {parameters, value: Buffer.concat([cipher.update(plain), cipher.final()])}
  } finally {
    plain.fill(0)
  }
}

function readTlv(der: Buffer, at: number, tag: number): {start: number; end: number} {
  if (der[at] !== tag) throw new Error(`unexpected DER tag 0x${der[at]?.toString(16)} for a Diffie-Hellman public key`)
  let length = der[at + 1]
  let start = at + 2
  if (length & 0x80) {
    const n = length & 0x7f
    length = der.readUIntBE(start, n)
    start += n
  }
  if (start + length > der.length) throw new Error('truncated DER in a Diffie-Hellman public key')
  return {start, end: start + length}
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return Buffer.concat([Buffer.from([tag, ...length]), content])
}

function padded(bytes: Buffer, length: number): Buffer {
  if (bytes.length >= length) return bytes
  const out = Buffer.alloc(length)
  bytes.copy(out, length - bytes.length)
  return out
}

function unsigned(bytes: Buffer): Buffer {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  return Buffer.from(bytes.subarray(i))
}

/** A DER INTEGER's content for an unsigned big-endian value: a leading zero keeps it positive. */
function signedInteger(bytes: Buffer): Buffer {
  const value = unsigned(bytes)
  return value[0] & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value
}
