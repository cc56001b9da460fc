import {createCipheriv, createDecipheriv, createHmac, randomBytes, scrypt, timingSafeEqual} from 'node:crypto'
import {readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {MxtokError} from '../errors.js'
import {writeFileAtomic} from '../registry/atomic-file.js'
import {withLockFile} from '../registry/lock-file.js'
import type {SecretStore} from './secret-store.js'

export const SECRETS_FILE = 'secrets.enc'
const FORMAT = 'mxtok-secrets'
export const FILE_STORE_VERSION = 1

/**
 * scrypt cost: N=2^15, r=8, p=1 takes 32 MiB and about 0.1-0.25 s here — slow enough to make
 * guessing a passphrase expensive, fast enough for every command that reads a token.
 */
export const KDF_DEFAULTS = {N: 2 ** 15, r: 8, p: 1} as const

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
      if (changed) await writeFileAtomic(this.path, JSON.stringify(await this.seal(secrets), null, 1) + '\n')
      return changed
    })
  }

  private async read(): Promise<Secrets> {
    let text: string
    try {
      const info = await stat(this.path)
      if (info.mode & 0o077) {
        throw new MxtokError('keychain', `${this.path} can be read by other users (mode ${(info.mode & 0o777).toString(8)}); run "chmod 600 ${this.path}" and try again`)
      }
      text = await readFile(this.path, 'utf8')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {}
      throw error instanceof MxtokError ? error : new MxtokError('keychain', `cannot read ${this.path}: ${(error as Error).message}`)
    }
    return this.open(text)
  }

  private async open(text: string): Promise<Secrets> {
    const damaged = (why: string) => new MxtokError('keychain', `${this.path} is damaged (${why}); restore it from a backup, or move it away and create the sessions again`)
    let file: SealedFile
    try {
      file = JSON.parse(text)
    } catch {
      throw damaged('not complete: truncated or overwritten')
    }
    if (file?.format !== FORMAT) throw damaged('not an mxtok secrets file')
    if (typeof file.version !== 'number') throw damaged('no format version')
    if (file.version > FILE_STORE_VERSION) throw new MxtokError('keychain', `${this.path} was written by a newer mxtok (format ${file.version}); upgrade mxtok to read it`)
    const kdf = file.kdf
    if (
      file.version !== FILE_STORE_VERSION ||
      kdf?.name !== 'scrypt' ||
      ![kdf.N, kdf.r, kdf.p].every(Number.isSafeInteger) ||
      file.cipher !== 'aes-256-gcm' ||
      ![kdf.salt, file.nonce, file.check, file.data, file.tag].every((v) => typeof v === 'string')
    ) {
      throw damaged('its header is not valid')
    }
    const key = await this.deriveFor(kdf)
    if (!safeEqual(checkValue(key), Buffer.from(file.check, 'base64'))) {
      throw new MxtokError('keychain', `wrong passphrase for ${this.path}; set MXTOK_PASSPHRASE to the passphrase it was created with`)
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
    return {...header, data: data.toString('base64'), tag: cipher.getAuthTag().toString('base64')}
  }

  /** The key for these KDF parameters (a new salt when undefined), derived once per process. */
  private async deriveFor(kdf: Header['kdf'] | undefined): Promise<Buffer> {
    if (this.key && (!kdf || (kdf.salt === this.key.salt && kdf.N === this.key.params.N && kdf.r === this.key.params.r && kdf.p === this.key.params.p))) {
      return this.key.key
    }
    const params = kdf ?? {name: 'scrypt' as const, ...KDF_DEFAULTS, salt: randomBytes(16).toString('base64')}
    if (params.N > 2 ** 20 || params.r > 32 || params.p > 16) throw new MxtokError('keychain', `${this.path} asks for scrypt parameters beyond what mxtok will compute; it is damaged`)
    const passphrase = await this.passphrase()
    const key = await new Promise<Buffer>((resolve, reject) =>
      scrypt(passphrase, Buffer.from(params.salt, 'base64'), 32, {N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024}, (err, k) =>
        err ? reject(err) : resolve(k),
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

const checkValue = (key: Buffer) => createHmac('sha256', key).update('mxtok file store passphrase check').digest().subarray(0, 16)
const safeEqual = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b)
