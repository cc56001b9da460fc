import {createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, scrypt, timingSafeEqual} from 'node:crypto'
// fs.promises, not node:fs/promises: that would load as a bundle starts, 0.7 ms of every run.
import {promises as fs} from 'node:fs'
import {join} from 'node:path'
import {MxtokError} from '../errors.js'
import {writeFileAtomic} from '../fs/atomic-file.js'
import {withLockFile} from '../fs/lock-file.js'
import {KDF_DEFAULTS, KDF_LIMITS, kdfWithinLimits} from './kdf-limits.js'
import type {SecretStore} from './secret-store.js'

export const SECRETS_FILE = 'secrets.enc'
const FORMAT = 'mxtok-secrets'
export const FILE_STORE_VERSION = 1

export {KDF_DEFAULTS} from './kdf-limits.js'

interface Header {
  format: typeof FORMAT
  version: number
  kdf: {name: 'scrypt'; N: number; r: number; p: number; salt: string}
  cipher: 'aes-256-gcm'
  nonce: string
  /** HMAC of a fixed text under the key: tells a wrong passphrase from a damaged file. */
  check: string
}

interface SealedFile extends Header {
  /**
   * SHA-256 of the header, unkeyed: a header damaged by accident shows as damaged, where the
   * check alone would call it a wrong passphrase. Not in the authenticated data, so files written
   * before it (without one) still open; for them the two cannot be told apart.
   */
  headerSum?: string
  data: string
  tag: string
}

type Secrets = Record<string, string>

/**
 * Tokens in one encrypted file in the config directory, for machines without a usable keychain:
 * AES-256-GCM under a key derived by scrypt from a passphrase; the header (format version, KDF
 * parameters, salt, nonce) is authenticated with the data. Changes are written to a new file that
 * replaces the old one only once complete.
 */
export class FileStore implements SecretStore {
  readonly kind = 'file' as const
  readonly path: string
  private key?: {salt: string; params: Header['kdf']; key: Buffer}

  constructor(
    dir: string,
    private readonly passphrase: () => Promise<string>,
  ) {
    this.path = join(dir, SECRETS_FILE)
  }

  /** Proves the passphrase opens the file (or, with no file yet, that one can be written). */
  async check(): Promise<void> {
    if (Object.keys(await this.read()).length === 0) await this.deriveFor(this.key?.params)
  }

  async get(account: string): Promise<string | null> {
    const secrets = await this.read()
    return Object.hasOwn(secrets, account) ? secrets[account] : null
  }

  async set(account: string, secret: string): Promise<void> {
    await this.change((s) => {
      s[account] = secret
      return true
    })
  }

  async delete(account: string): Promise<boolean> {
    return this.change((s) => {
      if (!Object.hasOwn(s, account)) return false
      delete s[account]
      return true
    })
  }

  /** Every account in the file: unlike a keychain, this store can be listed. */
  async accounts(): Promise<string[]> {
    return Object.keys(await this.read())
  }

  private async change(fn: (secrets: Secrets) => boolean): Promise<boolean> {
    return withLockFile(`${this.path}.lock`, async () => {
      const secrets = await this.read()
      const changed = fn(secrets)
      if (changed) await writeFileAtomic(this.path, `${JSON.stringify(await this.seal(secrets), null, 1)}\n`)
      return changed
    })
  }

  private async read(): Promise<Secrets> {
    let text: string
    try {
      const info = await fs.stat(this.path)
      if (info.mode & 0o077) {
        throw new MxtokError(
          'store',
          `${this.path} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); run "chmod 600 ${this.path}" and try again`,
        )
      }
      text = await fs.readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw error instanceof MxtokError ? error : new MxtokError('store', `cannot read ${this.path}: ${(error as Error).message}`)
    }
    return this.open(text)
  }

  private async open(text: string): Promise<Secrets> {
    const damaged = (why: string) =>
      new MxtokError('store', `${this.path} is damaged (${why}); restore it from a backup, or move it away and create the sessions again`)
    let file: SealedFile
    try {
      file = JSON.parse(text)
    } catch {
      throw damaged('not complete: truncated or overwritten')
    }
    if (file?.format !== FORMAT) throw damaged('not an mxtok secrets file')
    if (typeof file.version !== 'number') throw damaged('no format version')
    if (file.version > FILE_STORE_VERSION)
      throw new MxtokError('store', `${this.path} was written by a newer mxtok (format ${file.version}); upgrade mxtok to read it`)
    const kdf = file.kdf
    if (
      file.version !== FILE_STORE_VERSION ||
      kdf?.name !== 'scrypt' ||
      file.cipher !== 'aes-256-gcm' ||
      !isBase64(kdf.salt, 16) ||
      !isBase64(file.nonce, 12) ||
      !isBase64(file.check, 16) ||
      !isBase64(file.tag, 16) ||
      !isBase64(file.data) ||
      (file.headerSum !== undefined && !isBase64(file.headerSum, 32))
    ) {
      throw damaged('its header is not valid')
    }
    if (!kdfWithinLimits(kdf)) {
      const {minN, maxN, minR, maxR, maxP, maxWork} = KDF_LIMITS
      throw damaged(
        `its scrypt parameters N=${shown(kdf.N)}, r=${shown(kdf.r)}, p=${shown(kdf.p)} are outside mxtok's limits: N a power of two from ${minN} to ${maxN}, r from ${minR} to ${maxR}, p at most ${maxP}, N·r·p at most ${maxWork}`,
      )
    }
    const summed = file.headerSum !== undefined
    if (summed && file.headerSum !== headerSum(headerOf(file))) throw damaged('its header does not match its checksum')
    const key = await this.deriveFor(kdf)
    if (!safeEqual(checkValue(key), Buffer.from(file.check, 'base64'))) {
      throw new MxtokError(
        'store',
        `wrong passphrase for ${this.path}${summed ? '' : ' (or its header is damaged)'}; set MXTOK_PASSPHRASE to the passphrase it was created with`,
      )
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(file.nonce, 'base64'))
      decipher.setAAD(Buffer.from(JSON.stringify(headerOf(file))))
      decipher.setAuthTag(Buffer.from(file.tag, 'base64'))
      const plain = Buffer.concat([decipher.update(Buffer.from(file.data, 'base64')), decipher.final()])
      return JSON.parse(plain.toString('utf8'))
    } catch {
      throw damaged('it does not authenticate: altered or corrupted')
    }
  }

  private async seal(secrets: Secrets): Promise<SealedFile> {
    // A new file gets a fresh salt; an existing one keeps its parameters, read by open().
    const key = await this.deriveFor(this.key?.params)
    const {name, N, r, p, salt} = this.key!.params
    const header: Header = {
      format: FORMAT,
      version: FILE_STORE_VERSION,
      kdf: {name, N, r, p, salt},
      cipher: 'aes-256-gcm',
      nonce: randomBytes(12).toString('base64'),
      check: checkValue(key).toString('base64'),
    }
    const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(header.nonce, 'base64'))
    cipher.setAAD(Buffer.from(JSON.stringify(header)))
    const data = Buffer.concat([cipher.update(JSON.stringify(secrets), 'utf8'), cipher.final()])
    return {...header, headerSum: headerSum(header), data: data.toString('base64'), tag: cipher.getAuthTag().toString('base64')}
  }

  /** The key for these KDF parameters (a new salt when undefined), derived once per process. */
  private async deriveFor(kdf: Header['kdf'] | undefined): Promise<Buffer> {
    if (this.key && (!kdf || (kdf.salt === this.key.salt && kdf.N === this.key.params.N && kdf.r === this.key.params.r && kdf.p === this.key.params.p))) {
      return this.key.key
    }
    const params = kdf ?? {name: 'scrypt' as const, ...KDF_DEFAULTS, salt: randomBytes(16).toString('base64')}
    const passphrase = await this.passphrase()
    const key = await new Promise<Buffer>((resolve, reject) =>
      scrypt(
        passphrase,
        Buffer.from(params.salt, 'base64'),
        32,
        {N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024},
        (err, k) => (err ? reject(err) : resolve(k)),
      ),
    )
    this.key = {salt: params.salt, params, key}
    return key
  }
}

function headerOf(file: SealedFile): Header {
  const {format, version, kdf, cipher, nonce, check} = file
  return {format, version, kdf: {name: kdf.name, N: kdf.N, r: kdf.r, p: kdf.p, salt: kdf.salt}, cipher, nonce, check}
}

/** A value from the file as it may be printed: escaped, and short. */
const shown = (value: unknown) => String(JSON.stringify(value)).slice(0, 24)

const headerSum = (header: Header) => createHash('sha256').update(JSON.stringify(header)).digest('base64')

/** Canonical base64 (of `bytes` bytes, when given): Buffer.from would skip what is not base64. */
function isBase64(value: unknown, bytes?: number): value is string {
  if (typeof value !== 'string') return false
  const decoded = Buffer.from(value, 'base64')
  return decoded.toString('base64') === value && (bytes === undefined || decoded.length === bytes)
}

const checkValue = (key: Buffer) => createHmac('sha256', key).update('mxtok file store passphrase check').digest().subarray(0, 16)
const safeEqual = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b)
