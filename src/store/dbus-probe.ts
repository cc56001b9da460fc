import {connect, type Socket} from 'node:net'

/**
 * Asks the D-Bus session bus, from JavaScript and within a deadline, whether a Secret Service is
 * there and answering. The keychain binding connects to the bus synchronously on the main thread:
 * against a bus or daemon that never answers it blocks the whole process, where no timer can
 * fire. Probing first turns those cases into a clear error in bounded time.
 */
export type ProbeResult = {ok: true} | {ok: false; reason: string}

const SECRETS = 'org.freedesktop.secrets'

export async function probeSecretService(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ProbeResult> {
  const address = env.DBUS_SESSION_BUS_ADDRESS
  if (!address) return {ok: false, reason: 'there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set, as in an SSH login without a desktop)'}
  const path = unixSocketPath(address)
  // Other transports (tcp:, launchd:) are left to the binding itself.
  if (!path) return {ok: true}
  const conversation = new BusConversation(path)
  const timer = setTimeout(() => conversation.fail(`the D-Bus session bus or the Secret Service did not answer within ${timeoutMs / 1000} s`), timeoutMs)
  try {
    await conversation.authenticate()
    await conversation.call('org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus', 'Hello')
    const error = await conversation.call(SECRETS, '/org/freedesktop/secrets', 'org.freedesktop.DBus.Peer', 'Ping')
    if (error) return {ok: false, reason: `no Secret Service answers on the D-Bus session bus (${error})`}
    return {ok: true}
  } catch (error) {
    return {ok: false, reason: (error as Error).message}
  } finally {
    clearTimeout(timer)
    conversation.close()
  }
}

export function unixSocketPath(address: string): string | undefined {
  for (const entry of address.split(';')) {
    const [transport, params = ''] = entry.split(/:(.*)/s)
    if (transport !== 'unix') continue
    const kv = Object.fromEntries(params.split(',').map((p) => p.split(/=(.*)/s).map(unescapeAddress)))
    if (kv.path) return kv.path
    if (kv.abstract) return `\0${kv.abstract}`
  }
  return undefined
}

const unescapeAddress = (s: string | undefined) => (s ?? '').replace(/%([0-9a-fA-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))

/** Just enough of the D-Bus wire protocol for two method calls without arguments. */
class BusConversation {
  private readonly socket: Socket
  private buffer = Buffer.alloc(0)
  private serial = 0
  private waiting?: {resolve: () => void; reject: (e: Error) => void}
  private failure?: Error

  constructor(path: string) {
    this.socket = connect({path})
    this.socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      this.wake()
    })
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.fail(`cannot connect to the D-Bus session bus (${e.code ?? e.message})`))
    this.socket.on('close', () => this.fail('the D-Bus session bus closed the connection'))
  }

  fail(message: string): void {
    this.failure ??= new Error(message)
    this.wake()
  }

  close(): void {
    this.socket.destroy()
  }

  async authenticate(): Promise<void> {
    const uid = String(process.getuid?.() ?? 0)
    this.socket.write(`\0AUTH EXTERNAL ${Buffer.from(uid).toString('hex')}\r\n`)
    const line = await this.readLine()
    if (!line.startsWith('OK ')) throw new Error(`the D-Bus session bus refused us (${line.trim()})`)
    this.socket.write('BEGIN\r\n')
  }

  /** Sends a method call and returns the D-Bus error name of the reply, or undefined on success. */
  async call(destination: string, path: string, iface: string, member: string): Promise<string | undefined> {
    const serial = ++this.serial
    this.socket.write(methodCall(serial, destination, path, iface, member))
    for (;;) {
      const message = await this.readMessage()
      if (message.replySerial !== serial) continue
      return message.type === 3 ? message.errorName ?? 'error' : undefined
    }
  }

  private async readLine(): Promise<string> {
    for (;;) {
      const end = this.buffer.indexOf('\r\n')
      if (end >= 0) {
        const line = this.buffer.subarray(0, end).toString('latin1')
        this.buffer = this.buffer.subarray(end + 2)
        return line
      }
      await this.more()
    }
  }

  private async readMessage(): Promise<{type: number; replySerial?: number; errorName?: string}> {
    for (;;) {
      if (this.buffer.length >= 16) {
        const le = this.buffer[0] === 0x6c
        const u32 = (at: number) => (le ? this.buffer.readUInt32LE(at) : this.buffer.readUInt32BE(at))
        const fieldsEnd = 16 + u32(12)
        const total = align(fieldsEnd, 8) + u32(4)
        if (this.buffer.length >= total) {
          const message = {type: this.buffer[1], ...headerFields(this.buffer.subarray(0, fieldsEnd), le)}
          this.buffer = this.buffer.subarray(total)
          return message
        }
      }
      await this.more()
    }
  }

  private more(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure)
    return new Promise((resolve, reject) => (this.waiting = {resolve, reject}))
  }

  private wake(): void {
    const w = this.waiting
    this.waiting = undefined
    if (!w) return
    if (this.failure) w.reject(this.failure)
    else w.resolve()
  }
}

const align = (n: number, to: number) => Math.ceil(n / to) * to

function methodCall(serial: number, destination: string, path: string, iface: string, member: string): Buffer {
  const fields: Buffer[] = []
  let offset = 16
  const field = (code: number, sig: 'o' | 's', value: string) => {
    const pad = align(offset, 8) - offset
    const text = Buffer.from(value, 'utf8')
    // struct(byte code, variant(signature, value)); the value's length is 4-aligned at offset+4.
    const part = Buffer.alloc(pad + 4 + 4 + text.length + 1)
    part[pad] = code
    part[pad + 1] = 1
    part.write(sig, pad + 2, 'latin1')
    part.writeUInt32LE(text.length, pad + 4)
    text.copy(part, pad + 8)
    fields.push(part)
    offset += part.length
  }
  field(1, 'o', path)
  field(2, 's', iface)
  field(3, 's', member)
  field(6, 's', destination)
  const body = Buffer.concat(fields)
  const header = Buffer.alloc(16)
  header.write('l', 0, 'latin1')
  header[1] = 1 // method call
  header[2] = 0
  header[3] = 1 // protocol version
  header.writeUInt32LE(0, 4) // no body
  header.writeUInt32LE(serial, 8)
  header.writeUInt32LE(body.length, 12)
  return Buffer.concat([header, body, Buffer.alloc(align(offset, 8) - offset)])
}

function headerFields(header: Buffer, le: boolean): {replySerial?: number; errorName?: string} {
  const u32 = (at: number) => (le ? header.readUInt32LE(at) : header.readUInt32BE(at))
  const out: {replySerial?: number; errorName?: string} = {}
  let at = 16
  while (at < header.length) {
    at = align(at, 8)
    if (at >= header.length) break
    const code = header[at]
    const sigLen = header[at + 1]
    const sig = header.toString('latin1', at + 2, at + 2 + sigLen)
    at += 2 + sigLen + 1
    if (sig === 'u' || sig === 'i') {
      at = align(at, 4)
      if (code === 5) out.replySerial = u32(at)
      at += 4
    } else if (sig === 's' || sig === 'o') {
      at = align(at, 4)
      const len = u32(at)
      if (code === 4) out.errorName = header.toString('utf8', at + 4, at + 4 + len)
      at += 4 + len + 1
    } else if (sig === 'g') {
      at += 1 + header[at] + 1
    } else break // a type these calls never get back
  }
  return out
}
