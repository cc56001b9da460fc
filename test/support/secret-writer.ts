// Writes many secrets to a Secret Service over one D-Bus connection, the calls pipelined: a
// secret-tool process per item costs tens of milliseconds each, minutes for a benchmark's
// thousand sessions. Just enough of the D-Bus wire format (little-endian) for OpenSession and
// CreateItem with the "plain" algorithm, which the specification allows on the session bus.
import {connect, type Socket} from 'node:net'

const SECRETS = 'org.freedesktop.secrets'
const WINDOW = 64

class Marshal {
  buf = Buffer.alloc(256)
  length = 0

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return
    const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n))
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

  byte(v: number): this {
    this.room(1)
    this.buf[this.length++] = v
    return this
  }

  u32(v: number): this {
    this.align(4).room(4)
    this.buf.writeUInt32LE(v, this.length)
    this.length += 4
    return this
  }

  raw(bytes: Buffer): this {
    this.room(bytes.length)
    bytes.copy(this.buf, this.length)
    this.length += bytes.length
    return this
  }

  string(s: string): this {
    const bytes = Buffer.from(s, 'utf8')
    return this.u32(bytes.length).raw(bytes).byte(0)
  }

  signature(s: string): this {
    return this.byte(s.length).raw(Buffer.from(s, 'latin1')).byte(0)
  }

  bytes(b: Buffer): this {
    return this.u32(b.length).raw(b)
  }

  /** An array whose elements align to `to`: its length counts from after the padding. */
  array(to: number, elements: () => void): this {
    this.u32(0)
    const at = this.length - 4
    this.align(to)
    const start = this.length
    elements()
    this.buf.writeUInt32LE(this.length - start, at)
    return this
  }

  done(): Buffer {
    return this.buf.subarray(0, this.length)
  }
}

interface Call {
  path: string
  iface: string
  member: string
  destination: string
  signature?: string
  body?: Buffer
}

function message(serial: number, call: Call): Buffer {
  const m = new Marshal()
  const body = call.body ?? Buffer.alloc(0)
  m.raw(Buffer.from('l')).byte(1).byte(0).byte(1).u32(body.length).u32(serial)
  m.array(8, () => {
    const field = (code: number, sig: string, write: () => void) => {
      m.align(8).byte(code).signature(sig)
      write()
    }
    field(1, 'o', () => m.string(call.path))
    field(2, 's', () => m.string(call.iface))
    field(3, 's', () => m.string(call.member))
    field(6, 's', () => m.string(call.destination))
    if (call.signature) field(8, 'g', () => m.signature(call.signature!))
  })
  m.align(8).raw(body)
  return Buffer.from(m.done())
}

interface Reply {
  type: number
  replySerial?: number
  errorName?: string
  body: Buffer
}

/** Header fields this client needs: which call a message answers, and its error name. */
function parse(msg: Buffer): Reply {
  const fieldsEnd = 16 + msg.readUInt32LE(12)
  const reply: Reply = {type: msg[1], body: msg.subarray(Math.ceil(fieldsEnd / 8) * 8)}
  let at = 16
  while (at < fieldsEnd) {
    at = Math.ceil(at / 8) * 8
    const code = msg[at]
    const sig = msg.toString('latin1', at + 2, at + 2 + msg[at + 1])
    at += 3 + msg[at + 1]
    if (sig === 'u') {
      at = Math.ceil(at / 4) * 4
      if (code === 5) reply.replySerial = msg.readUInt32LE(at)
      at += 4
    } else if (sig === 's' || sig === 'o') {
      at = Math.ceil(at / 4) * 4
      const len = msg.readUInt32LE(at)
      if (code === 4) reply.errorName = msg.toString('utf8', at + 4, at + 4 + len)
      at += 5 + len
    } else if (sig === 'g') {
      at += 2 + msg[at]
    } else break
  }
  return reply
}

class Bus {
  private readonly socket: Socket
  private buffer = Buffer.alloc(0)
  private authenticated = false
  private serial = 0
  private readonly pending = new Map<number, {resolve: (r: Reply) => void; reject: (e: Error) => void}>()
  private onLine?: (line: string) => void
  private failure?: Error

  constructor(path: string) {
    this.socket = connect({path})
    this.socket.on('data', (chunk) => this.receive(chunk))
    this.socket.on('error', (e) => this.fail(e))
    this.socket.on('close', () => this.fail(new Error('the D-Bus bus closed the connection')))
  }

  async open(): Promise<void> {
    const line = new Promise<string>((resolve) => (this.onLine = resolve))
    this.socket.write(`\0AUTH EXTERNAL ${Buffer.from(String(process.getuid?.() ?? 0)).toString('hex')}\r\n`)
    const answer = await line
    if (!answer.startsWith('OK ')) throw new Error(`the D-Bus bus refused us: ${answer}`)
    this.authenticated = true
    this.socket.write('BEGIN\r\n')
    await this.call({path: '/org/freedesktop/DBus', iface: 'org.freedesktop.DBus', member: 'Hello', destination: 'org.freedesktop.DBus'})
  }

  call(call: Call): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure)
    const serial = ++this.serial
    return new Promise((resolve, reject) => {
      this.pending.set(serial, {resolve, reject})
      this.socket.write(message(serial, call))
    })
  }

  close(): void {
    this.socket.destroy()
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk])
    if (!this.authenticated) {
      const end = this.buffer.indexOf('\r\n')
      if (end < 0) return
      const line = this.buffer.subarray(0, end).toString('latin1')
      this.buffer = this.buffer.subarray(end + 2)
      this.onLine?.(line)
      return
    }
    while (this.buffer.length >= 16) {
      const total = Math.ceil((16 + this.buffer.readUInt32LE(12)) / 8) * 8 + this.buffer.readUInt32LE(4)
      if (this.buffer.length < total) return
      const reply = parse(this.buffer.subarray(0, total))
      this.buffer = this.buffer.subarray(total)
      const waiter = reply.replySerial === undefined ? undefined : this.pending.get(reply.replySerial)
      if (!waiter) continue
      this.pending.delete(reply.replySerial!)
      if (reply.type === 3) waiter.reject(new Error(`D-Bus error ${reply.errorName}`))
      else waiter.resolve(reply)
    }
  }

  private fail(error: Error): void {
    this.failure ??= error
    for (const w of this.pending.values()) w.reject(error)
    this.pending.clear()
    this.onLine?.(`failed: ${error.message}`)
  }
}

export interface SecretItem {
  label: string
  attributes: Record<string, string>
  secret: string
}

/** Stores the items in a collection (an object path, or a name such as "session"), replacing items with the same attributes. */
export async function writeSecrets(busSocketPath: string, collection: string, items: SecretItem[]): Promise<void> {
  const bus = new Bus(busSocketPath)
  try {
    await bus.open()
    const opened = await bus.call({
      path: '/org/freedesktop/secrets',
      iface: 'org.freedesktop.Secret.Service',
      member: 'OpenSession',
      destination: SECRETS,
      signature: 'sv',
      body: new Marshal().string('plain').signature('s').string('').done(),
    })
    // The answer is (variant output, object path session); for "plain" the output is an empty string.
    const body = opened.body
    let at = 1 + body[0] + 1
    at = Math.ceil(at / 4) * 4
    at += 4 + body.readUInt32LE(at) + 1
    at = Math.ceil(at / 4) * 4
    const session = body.toString('utf8', at + 4, at + 4 + body.readUInt32LE(at))
    const path = collection.startsWith('/') ? collection : `/org/freedesktop/secrets/collection/${collection}`

    const create = (item: SecretItem) => {
      const m = new Marshal()
      m.array(8, () => {
        m.align(8).string('org.freedesktop.Secret.Item.Label').signature('s').string(item.label)
        m.align(8).string('org.freedesktop.Secret.Item.Attributes').signature('a{ss}')
        m.array(8, () => {
          for (const [k, v] of Object.entries(item.attributes)) m.align(8).string(k).string(v)
        })
      })
      m.align(8).string(session).bytes(Buffer.alloc(0)).bytes(Buffer.from(item.secret, 'utf8')).string('text/plain')
      m.u32(1)
      return bus.call({path, iface: 'org.freedesktop.Secret.Collection', member: 'CreateItem', destination: SECRETS, signature: 'a{sv}(oayays)b', body: Buffer.from(m.done())})
    }
    for (let i = 0; i < items.length; i += WINDOW) await Promise.all(items.slice(i, i + WINDOW).map(create))
  } finally {
    bus.close()
  }
}
