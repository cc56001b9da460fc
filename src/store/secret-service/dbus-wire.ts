// The D-Bus wire format (https://dbus.freedesktop.org/doc/dbus-specification.html#message-protocol),
// only as much as talking to a Secret Service takes. Written little-endian; read in either byte
// order, since the bus passes on a message in the order its sender chose.

/** A value of type `v`: the value travels with its own signature. */
export interface Variant {
  signature: string
  value: DBusValue
}

/**
 * y n q i u: number; b: boolean; s o g: string; ay: Buffer; other arrays: an array of values;
 * a{..}: a Map (or, to write, a plain object); (..): an array of the fields; v: a Variant.
 */
export type DBusValue = number | boolean | string | Buffer | Variant | DBusValue[] | Map<DBusValue, DBusValue> | {[key: string]: DBusValue}

const ALIGNMENT: Record<string, number> = {y: 1, b: 4, n: 2, q: 2, i: 4, u: 4, s: 4, o: 4, g: 1, a: 4, '(': 8, '{': 8, v: 1}
const BASIC = new Set(['y', 'b', 'n', 'q', 'i', 'u', 's', 'o', 'g'])

/** The message size the reference implementation accepts; anything larger is a broken stream. */
export const MAX_MESSAGE_SIZE = 2 ** 27

/** Where the complete type starting at `at` ends. */
function typeEnd(signature: string, at: number): number {
  const c = signature[at]
  if (c === undefined) throw new TypeError(`incomplete D-Bus signature "${signature}"`)
  if (c === 'a') {
    if (signature[at + 1] !== '{') return typeEnd(signature, at + 1)
    if (!BASIC.has(signature[at + 2])) throw new TypeError(`a dict key must be a basic type in "${signature}"`)
    const end = typeEnd(signature, at + 3)
    if (signature[end] !== '}') throw new TypeError(`a dict entry holds two types in "${signature}"`)
    return end + 1
  }
  if (c === '(') {
    let i = at + 1
    if (signature[i] === ')') throw new TypeError(`empty struct in "${signature}"`)
    while (signature[i] !== ')') i = typeEnd(signature, i)
    return i + 1
  }
  if (c in ALIGNMENT && c !== '{') return at + 1
  throw new TypeError(`unsupported D-Bus type "${c}" in "${signature}"`)
}

// A command sends and reads hundreds of messages with a handful of signatures.
const splitCache = new Map<string, string[]>()

/** The complete types of a signature: "sa{sv}" is ["s", "a{sv}"]. */
export function splitSignature(signature: string): string[] {
  const known = splitCache.get(signature)
  if (known) return known
  const types: string[] = []
  for (let at = 0; at < signature.length; ) {
    const end = typeEnd(signature, at)
    types.push(signature.slice(at, end))
    at = end
  }
  if (splitCache.size < 256) splitCache.set(signature, types)
  return types
}

/** The fields of a struct or dict entry type, "(oayays)" or "{sv}". */
const innerTypes = (type: string) => splitSignature(type.slice(1, -1))

/** Writes values little-endian; offsets count from the start of the message, as alignment does. */
export class Writer {
  // Every byte up to `length` is written, padding included: no need to zero the buffer first.
  private buf = Buffer.allocUnsafe(512)
  length = 0

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n))
    this.buf.copy(bigger, 0, 0, this.length)
    this.buf = bigger
  }

  align(n: number): this {
    const pad = (n - (this.length % n)) % n
    this.room(pad)
    this.buf.fill(0, this.length, this.length + pad)
    this.length += pad
    return this
  }

  raw(bytes: Uint8Array): this {
    this.room(bytes.length)
    this.buf.set(bytes, this.length)
    this.length += bytes.length
    return this
  }

  private int(size: 1 | 2 | 4, signed: boolean, v: number): this {
    this.align(size).room(size)
    const {buf, length} = this
    if (size === 1) buf.writeUInt8(v, length)
    else if (size === 2) signed ? buf.writeInt16LE(v, length) : buf.writeUInt16LE(v, length)
    else signed ? buf.writeInt32LE(v, length) : buf.writeUInt32LE(v, length)
    this.length += size
    return this
  }

  /** Writes a list of values, one for each complete type of the signature. */
  values(signature: string, values: readonly DBusValue[]): this {
    const types = splitSignature(signature)
    if (types.length !== values.length) throw new TypeError(`"${signature}" takes ${types.length} values, not ${values.length}`)
    for (const [i, t] of types.entries()) this.value(t, values[i])
    return this
  }

  value(type: string, v: DBusValue): this {
    switch (type[0]) {
      case 'y':
        return this.int(1, false, v as number)
      case 'b':
        return this.int(4, false, v ? 1 : 0)
      case 'n':
        return this.int(2, true, v as number)
      case 'q':
        return this.int(2, false, v as number)
      case 'i':
        return this.int(4, true, v as number)
      case 'u':
        return this.int(4, false, v as number)
      case 's':
      case 'o':
        return this.text(v as string, 4, 'utf8')
      case 'g':
        splitSignature(v as string)
        return this.text(v as string, 1, 'latin1')
      case 'v': {
        const {signature, value} = v as Variant
        if (splitSignature(signature).length !== 1) throw new TypeError(`a variant holds one complete type, not "${signature}"`)
        return this.value('g', signature).value(signature, value)
      }
      case '(': {
        const fields = v as DBusValue[]
        const types = innerTypes(type)
        if (fields.length !== types.length) throw new TypeError(`struct ${type} has ${types.length} fields, not ${fields.length}`)
        this.align(8)
        for (const [i, t] of types.entries()) this.value(t, fields[i])
        return this
      }
      case 'a':
        return this.array(type.slice(1), v)
    }
    throw new TypeError(`unsupported D-Bus type "${type}"`)
  }

  private array(element: string, v: DBusValue): this {
    this.int(4, false, 0)
    const lengthAt = this.length - 4
    // The padding before the first element does not count in the array's length.
    this.align(ALIGNMENT[element[0]])
    const start = this.length
    if (element === 'y') {
      this.raw(v as Uint8Array)
    } else if (element[0] === '{') {
      const [keyType, valueType] = innerTypes(element)
      const entries = v instanceof Map ? [...v] : Object.entries(v as object)
      for (const [key, value] of entries) this.align(8).value(keyType, key).value(valueType, value)
    } else {
      for (const item of v as DBusValue[]) this.value(element, item)
    }
    const length = this.length - start
    if (length > 2 ** 26) throw new RangeError('D-Bus array longer than 64 MiB')
    this.buf.writeUInt32LE(length, lengthAt)
    return this
  }

  /** A string with its length before it (a byte for a signature, else 4) and a NUL after. */
  private text(value: string, lengthSize: 1 | 4, encoding: 'utf8' | 'latin1'): this {
    const n = Buffer.byteLength(value, encoding)
    this.int(lengthSize, false, n).room(n + 1)
    this.buf.write(value, this.length, encoding)
    this.buf[this.length + n] = 0
    this.length += n + 1
    return this
  }

  /** Puts a 32-bit value at an offset already written, such as a length known only later. */
  patch32(at: number, v: number): void {
    this.buf.writeUInt32LE(v, at)
  }

  /** What was written; the writer must not be used after. */
  done(): Buffer {
    return this.buf.subarray(0, this.length)
  }
}

/** Reads values from a whole message: positions are offsets in it, which alignment needs. */
export class Reader {
  constructor(
    private readonly buf: Buffer,
    private readonly littleEndian: boolean,
    public at = 0,
  ) {}

  private need(n: number): void {
    if (this.at + n > this.buf.length) throw new RangeError('D-Bus message ends inside a value')
  }

  align(n: number): this {
    this.at = Math.ceil(this.at / n) * n
    return this
  }

  private int(size: 1 | 2 | 4, signed: boolean): number {
    this.align(size).need(size)
    const {buf, at} = this
    this.at += size
    if (size === 1) return buf[at]
    if (this.littleEndian) return size === 2 ? (signed ? buf.readInt16LE(at) : buf.readUInt16LE(at)) : signed ? buf.readInt32LE(at) : buf.readUInt32LE(at)
    return size === 2 ? (signed ? buf.readInt16BE(at) : buf.readUInt16BE(at)) : signed ? buf.readInt32BE(at) : buf.readUInt32BE(at)
  }

  private text(length: number, encoding: BufferEncoding): string {
    this.need(length + 1)
    const s = this.buf.toString(encoding, this.at, this.at + length)
    this.at += length + 1
    return s
  }

  values(signature: string): DBusValue[] {
    return splitSignature(signature).map((t) => this.value(t))
  }

  value(type: string): DBusValue {
    switch (type[0]) {
      case 'y':
        return this.int(1, false)
      case 'b':
        return this.int(4, false) !== 0
      case 'n':
        return this.int(2, true)
      case 'q':
        return this.int(2, false)
      case 'i':
        return this.int(4, true)
      case 'u':
        return this.int(4, false)
      case 's':
      case 'o':
        return this.text(this.int(4, false), 'utf8')
      case 'g':
        return this.text(this.int(1, false), 'latin1')
      case 'v': {
        const signature = this.value('g') as string
        if (splitSignature(signature).length !== 1) throw new TypeError(`a variant holds one complete type, not "${signature}"`)
        return {signature, value: this.value(signature)}
      }
      case '(':
        this.align(8)
        return innerTypes(type).map((t) => this.value(t))
      case 'a':
        return this.array(type.slice(1))
    }
    throw new TypeError(`unsupported D-Bus type "${type}"`)
  }

  private array(element: string): DBusValue {
    const length = this.int(4, false)
    this.align(ALIGNMENT[element[0]]).need(length)
    const end = this.at + length
    if (element === 'y') {
      // A copy: the message buffer is not kept alive by what is read from it.
      const bytes = Buffer.from(this.buf.subarray(this.at, end))
      this.at = end
      return bytes
    }
    if (element[0] === '{') {
      const [keyType, valueType] = innerTypes(element)
      const map = new Map<DBusValue, DBusValue>()
      while (this.at < end) {
        this.align(8)
        const key = this.value(keyType)
        map.set(key, this.value(valueType))
      }
      this.checkEnd(end)
      return map
    }
    const items: DBusValue[] = []
    while (this.at < end) items.push(this.value(element))
    this.checkEnd(end)
    return items
  }

  private checkEnd(end: number): void {
    if (this.at !== end) throw new RangeError('a D-Bus array element runs past the array')
  }
}

export const MessageType = {methodCall: 1, methodReturn: 2, error: 3, signal: 4} as const

export interface Message {
  type: number
  flags?: number
  serial: number
  path?: string
  interface?: string
  member?: string
  errorName?: string
  replySerial?: number
  destination?: string
  sender?: string
  signature?: string
  body?: DBusValue[]
}

const FIELDS = [
  [1, 'path', 'o'],
  [2, 'interface', 's'],
  [3, 'member', 's'],
  [4, 'errorName', 's'],
  [5, 'replySerial', 'u'],
  [6, 'destination', 's'],
  [7, 'sender', 's'],
  [8, 'signature', 'g'],
] as const

export function encodeMessage(m: Message): Buffer {
  if (!m.signature && m.body?.length) throw new TypeError('a message body needs a signature')
  const fields: DBusValue[] = []
  for (const [code, name, type] of FIELDS) {
    const value = m[name]
    if (value !== undefined && value !== '') fields.push([code, {signature: type, value}])
  }
  // One buffer for header and body: the body starts 8-aligned, its length is filled in after.
  const w = new Writer()
  w.value('y', 0x6c)
    .value('y', m.type)
    .value('y', m.flags ?? 0)
    .value('y', 1)
  w.value('u', 0).value('u', m.serial).value('a(yv)', fields).align(8)
  const bodyStart = w.length
  if (m.signature) w.values(m.signature, m.body ?? [])
  w.patch32(4, w.length - bodyStart)
  return w.done()
}

/** The size of the message at the start of `buf`, once its fixed header is there. */
export function messageSize(buf: Buffer): number | undefined {
  if (buf.length < 16) return undefined
  const le = littleEndian(buf)
  const bodyLength = le ? buf.readUInt32LE(4) : buf.readUInt32BE(4)
  const fieldsLength = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12)
  const size = Math.ceil((16 + fieldsLength) / 8) * 8 + bodyLength
  if (size > MAX_MESSAGE_SIZE) throw new RangeError(`a D-Bus message of ${size} bytes is larger than the protocol allows`)
  return size
}

function littleEndian(buf: Buffer): boolean {
  if (buf[0] === 0x6c) return true
  if (buf[0] === 0x42) return false
  throw new TypeError(`not a D-Bus message (byte order mark 0x${buf[0].toString(16)})`)
}

/** The header of one whole message; its body is left to decodeBody. */
export function decodeHeader(buf: Buffer): Message {
  const r = new Reader(buf, littleEndian(buf), 1)
  const type = r.value('y') as number
  const flags = r.value('y') as number
  const version = r.value('y') as number
  if (version !== 1) throw new TypeError(`D-Bus protocol version ${version} is not 1`)
  r.value('u')
  const m: Message = {type, flags, serial: r.value('u') as number}
  for (const [code, variant] of r.value('a(yv)') as [number, Variant][]) {
    const field = FIELDS.find(([c]) => c === code)
    // Fields of later versions of the protocol (UNIX_FDS and beyond) are skipped, as it requires.
    if (!field) continue
    if (variant.signature !== field[2]) throw new TypeError(`D-Bus header field ${code} has type "${variant.signature}", not "${field[2]}"`)
    Object.assign(m, {[field[1]]: variant.value})
  }
  return m
}

/** The body of a whole message whose header decodeHeader gave. */
export function decodeBody(buf: Buffer, header: Message): DBusValue[] {
  const le = littleEndian(buf)
  const fieldsLength = le ? buf.readUInt32LE(12) : buf.readUInt32BE(12)
  const r = new Reader(buf, le, Math.ceil((16 + fieldsLength) / 8) * 8)
  const body = header.signature ? r.values(header.signature) : []
  if (r.at !== buf.length) throw new RangeError('the D-Bus message body does not match its signature')
  return body
}

export function decodeMessage(buf: Buffer): Message {
  const m = decodeHeader(buf)
  m.body = decodeBody(buf, m)
  return m
}
