import {createHash, scrypt} from 'node:crypto'
import {chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it, vi} from 'vitest'
import {FileStore, SECRETS_FILE} from '../../src/store/file-store.js'

// Counted, so that a test can tell that a key was never derived: a clock would also count the load of the machine.
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof import('node:crypto')>()
  return {...crypto, scrypt: vi.fn(crypto.scrypt)}
})

/** The header checksum as mxtok computes it: SHA-256 over the header's JSON, in the order written. */
const sumOf = ({headerSum: _, data: __, tag: ___, ...header}: Record<string, unknown>) => createHash('sha256').update(JSON.stringify(header)).digest('base64')

/** A base64 value with one bit changed. */
const flip = (b64: string) => {
  const bytes = Buffer.from(b64, 'base64')
  bytes[0] ^= 0x01
  return bytes.toString('base64')
}

const dir = () => mkdtempSync(join(tmpdir(), 'mxtok-filestore-'))
const store = (d: string, passphrase = 'right passphrase') => new FileStore(d, async () => passphrase)

async function filled(): Promise<{d: string; path: string; before: string}> {
  const d = dir()
  const s = store(d)
  await s.set('@a:hs/DEV1', 'token-one')
  await s.set('@a:hs/DEV2', 'token-two')
  const path = join(d, SECRETS_FILE)
  return {d, path, before: readFileSync(path, 'utf8')}
}

describe('FileStore', () => {
  it('round-trips secrets through a private file that does not contain them in clear', async () => {
    const {d, path, before} = await filled()
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(before).not.toContain('token-one')
    const again = store(d)
    expect(await again.get('@a:hs/DEV1')).toBe('token-one')
    expect(await again.get('@a:hs/NONE')).toBeNull()
    expect((await again.accounts()).sort()).toEqual(['@a:hs/DEV1', '@a:hs/DEV2'])
    expect(await again.delete('@a:hs/DEV1')).toBe(true)
    expect(await again.delete('@a:hs/DEV1')).toBe(false)
    expect(await store(d).get('@a:hs/DEV1')).toBeNull()
    expect(await store(d).get('@a:hs/DEV2')).toBe('token-two')
    expect(readdirSync(d).sort()).toEqual([SECRETS_FILE])
  })

  it('records the KDF parameters in a versioned header', async () => {
    const {before} = await filled()
    const header = JSON.parse(before)
    expect(header).toMatchObject({format: 'mxtok-secrets', version: 1, cipher: 'aes-256-gcm', kdf: {name: 'scrypt', N: 32768, r: 8, p: 1}})
    expect(Buffer.from(header.kdf.salt, 'base64')).toHaveLength(16)
    expect(Buffer.from(header.nonce, 'base64')).toHaveLength(12)
  })

  it('uses a fresh nonce for every write', async () => {
    const {d, before} = await filled()
    await store(d).set('@a:hs/DEV3', 'x')
    expect(JSON.parse(readFileSync(join(d, SECRETS_FILE), 'utf8')).nonce).not.toBe(JSON.parse(before).nonce)
  })

  it('says "wrong passphrase" and leaves the file untouched', async () => {
    const {d, path, before} = await filled()
    const wrong = store(d, 'wrong passphrase')
    await expect(wrong.get('@a:hs/DEV1')).rejects.toThrow(/^wrong passphrase for .*secrets\.enc; set MXTOK_PASSPHRASE/)
    await expect(wrong.set('@a:hs/DEV9', 'y')).rejects.toMatchObject({kind: 'store'})
    await expect(wrong.check()).rejects.toThrow(/wrong passphrase/)
    expect(readFileSync(path, 'utf8')).toBe(before)
  })

  it('detects a flipped byte in the encrypted data', async () => {
    const {d, path} = await filled()
    const file = JSON.parse(readFileSync(path, 'utf8'))
    const data = Buffer.from(file.data, 'base64')
    data[3] ^= 0x01
    file.data = data.toString('base64')
    const tampered = JSON.stringify(file)
    writeFileSync(path, tampered)
    await expect(store(d).get('@a:hs/DEV1')).rejects.toThrow(/is damaged \(it does not authenticate: altered or corrupted\)/)
    await expect(store(d).set('@a:hs/DEV1', 'z')).rejects.toThrow(/is damaged/)
    expect(readFileSync(path, 'utf8')).toBe(tampered)
  })

  it('detects an altered header, which is authenticated with the data', async () => {
    const {d, path, before} = await filled()
    // With a matching checksum, so that only the authentication can catch it.
    rewrite(path, before, (file) => (file.nonce = flip(file.nonce)), true)
    await expect(store(d).get('@a:hs/DEV1')).rejects.toThrow(/does not authenticate/)
  })

  it('detects a truncated file', async () => {
    const {d, path, before} = await filled()
    writeFileSync(path, before.slice(0, before.length / 2))
    await expect(store(d).get('@a:hs/DEV1')).rejects.toThrow(/is damaged \(not complete: truncated or overwritten\)/)
  })

  it('refuses a file from a newer format version', async () => {
    const {d, path, before} = await filled()
    writeFileSync(path, JSON.stringify({...JSON.parse(before), version: 2}))
    await expect(store(d).get('@a:hs/DEV1')).rejects.toThrow(/was written by a newer mxtok \(format 2\); upgrade mxtok/)
  })

  it('refuses a file other users can read', async () => {
    const {d, path} = await filled()
    chmodSync(path, 0o644)
    await expect(store(d).get('@a:hs/DEV1')).rejects.toThrow(/can be read by other users \(mode 644\); run "chmod 600/)
  })

  /**
   * The file with its header changed by `edit`: as a damaged disk leaves it, or with `resum` as a
   * hostile hand would, with a header checksum to match.
   */
  function rewrite(path: string, before: string, edit: (file: Record<string, any>) => void, resum = false): string {
    const file = JSON.parse(before)
    edit(file)
    if (resum) file.headerSum = sumOf(file)
    const text = JSON.stringify(file)
    writeFileSync(path, text)
    return text
  }

  it.each([
    ['the cost of issue 10 (N=2^20, r=32, p=16)', {N: 2 ** 20, r: 32, p: 16}],
    ['N above 2^17', {N: 2 ** 18, r: 8, p: 1}],
    ['N below 2^14', {N: 2 ** 13}],
    ['N not a power of two', {N: 3 * 2 ** 14}],
    ['r of 0', {r: 0}],
    ['r below 8', {r: 4}],
    ['r above 32', {N: 2 ** 14, r: 33}],
    ['p of 0', {p: 0}],
    ['p above 8', {N: 2 ** 14, r: 8, p: 9}],
    ['N·r·p above 2^20', {N: 2 ** 16, r: 16, p: 2}],
    ['a fractional r', {r: 8.5}],
    ['a string for N', {N: '32768\u001b[2J'}],
  ])('refuses %s at once as a damaged file, without asking for the passphrase', async (_, kdf) => {
    const {d, path, before} = await filled()
    const text = rewrite(path, before, (file) => Object.assign(file.kdf, kdf), true)
    let asked = 0
    const s = new FileStore(d, async () => {
      asked++
      return 'right passphrase'
    })
    const derivations = vi.mocked(scrypt).mock.calls.length
    await expect(s.get('@a:hs/DEV1')).rejects.toMatchObject({
      kind: 'store',
      message: expect.stringMatching(
        /secrets\.enc is damaged \(its scrypt parameters .* are outside mxtok's limits: N a power of two from 16384 to 131072, r from 8 to 32, p at most 8, N·r·p at most 1048576\)/,
      ),
    })
    await expect(s.set('@a:hs/DEV1', 'x')).rejects.toThrow(/is damaged/)
    // What the file holds reaches the terminal escaped.
    await expect(s.get('@a:hs/DEV1')).rejects.toSatisfy((e: Error) => !/[\u0000-\u001f]/.test(e.message))
    // At once: no key derived, whose cost is what the limits bound.
    expect(vi.mocked(scrypt).mock.calls.length).toBe(derivations)
    expect(asked).toBe(0)
    expect(readFileSync(path, 'utf8')).toBe(text)
  })

  it.each([
    ['a flipped bit in the salt', (f: Record<string, any>) => (f.kdf.salt = flip(f.kdf.salt))],
    ['a smaller N, within the limits', (f: Record<string, any>) => (f.kdf.N = 2 ** 14)],
    ['a flipped bit in the passphrase check', (f: Record<string, any>) => (f.check = flip(f.check))],
  ])('tells %s from a wrong passphrase', async (_, edit) => {
    const {d, path, before} = await filled()
    rewrite(path, before, edit)
    await expect(store(d).get('@a:hs/DEV1')).rejects.toThrow(/secrets\.enc is damaged \(its header does not match its checksum\)/)
    await expect(store(d, 'wrong passphrase').get('@a:hs/DEV1')).rejects.toThrow(/is damaged/)
  })

  it('refuses a salt, nonce, tag or check of the wrong length as damaged', async () => {
    for (const edit of [
      (f: Record<string, any>) => (f.kdf.salt = ''),
      (f: Record<string, any>) => (f.nonce = Buffer.alloc(8).toString('base64')),
      (f: Record<string, any>) => (f.tag = 'not base64!'),
      (f: Record<string, any>) => (f.check = Buffer.alloc(4).toString('base64')),
    ]) {
      const {d, path, before} = await filled()
      rewrite(path, before, edit)
      await expect(store(d).get('@a:hs/DEV1')).rejects.toThrow(/is damaged \(its header is not valid\)/)
    }
  })

  it('still opens a file written before the header checksum, and rewrites it with one', async () => {
    const {d, path, before} = await filled()
    rewrite(path, before, (file) => delete file.headerSum)
    expect(await store(d).get('@a:hs/DEV1')).toBe('token-one')
    // Without the checksum a damaged header cannot be told from a wrong passphrase: the message says both.
    await expect(store(d, 'wrong passphrase').get('@a:hs/DEV1')).rejects.toThrow(
      /^wrong passphrase for .*secrets\.enc \(or its header is damaged\); set MXTOK_PASSPHRASE/,
    )
    await store(d).set('@a:hs/DEV3', 'token-three')
    expect(JSON.parse(readFileSync(path, 'utf8')).headerSum).toMatch(/^[A-Za-z0-9+/]{43}=$/)
  })

  it('needs the passphrase before a first write, and asks for it once per store', async () => {
    let asked = 0
    const s = new FileStore(dir(), async () => {
      asked++
      return 'p'
    })
    await s.check()
    await s.set('a', '1')
    await s.set('b', '2')
    expect(await s.get('a')).toBe('1')
    expect(asked).toBe(1)
  })
})
