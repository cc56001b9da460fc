import {chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {FileStore, SECRETS_FILE} from '../../src/store/file-store.js'

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
    await expect(wrong.set('@a:hs/DEV9', 'y')).rejects.toMatchObject({kind: 'keychain'})
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
    const {d, path} = await filled()
    const file = JSON.parse(readFileSync(path, 'utf8'))
    const nonce = Buffer.from(file.nonce, 'base64')
    nonce[0] ^= 0x80
    writeFileSync(path, JSON.stringify({...file, nonce: nonce.toString('base64')}))
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

  it('refuses absurd KDF parameters instead of computing them', async () => {
    const {d, path, before} = await filled()
    const file = JSON.parse(before)
    writeFileSync(path, JSON.stringify({...file, kdf: {...file.kdf, N: 2 ** 30}}))
    await expect(store(d).get('@a:hs/DEV1')).rejects.toThrow(/scrypt parameters beyond/)
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
