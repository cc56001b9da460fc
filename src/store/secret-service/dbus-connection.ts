import {connect, type Socket} from 'node:net'
import {type DBusValue, decodeBody, decodeHeader, encodeMessage, type Message, MessageType, messageSize} from './dbus-wire.js'

/** The Unix socket of a D-Bus address ("unix:path=…" or "unix:abstract=…"), if it names one. */
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

/**
 * The bus itself let us down: no connection, refused, closed, or silent past a deadline. The
 * connection is over: the calls under way fail with it, and so does every later one.
 */
export class BusFailure extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'BusFailure'
  }
}

/** An error reply. Its text stays out of the message: only the name is ours to show. */
export class DBusError extends Error {
  constructor(
    readonly errorName: string,
    readonly detail?: string,
  ) {
    super(errorName)
    this.name = 'DBusError'
  }
}

/** Which signals a wait is for: all three must be equal. */
export interface SignalMatch {
  path: string
  interface: string
  member: string
}

export interface MethodCall {
  destination: string
  path: string
  interface: string
  member: string
  signature?: string
  body?: DBusValue[]
  flags?: number
}

/**
 * dbus-daemon's default limit of calls awaiting a reply per connection is 128 (a desktop's session
 * bus allows more): beyond it the bus answers LimitsExceeded. More calls than this wait their turn.
 */
const MAX_IN_FLIGHT = 64

type Waiter<T> = {resolve: (value: T) => void; reject: (error: Error) => void}

/**
 * gnome-keyring up to 50 at least handles a call whose client has gone only after it has forgotten
 * the client, and aborts (gkd_secret_service_get_pkcs11_session: assertion 'client' failed;
 * upstream #190): a client that ends with calls unanswered can take the user's keyring down. So
 * while calls are under way, a signal that ends the process (Ctrl-C, a service manager's stop, a
 * closed terminal) first lets them be answered, for at most this long, sending nothing new, and
 * then ends the process by that signal as if it had come at once; a second one ends it there and
 * then. Only kill -9 is beyond this.
 */
const SIGNAL_GRACE_MS = 1000
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
/** Open connections, and those of them with calls under way. */
const open = new Set<DBusConnection>()
const busy = new Set<DBusConnection>()
const idleWaiters = new Set<() => void>()
let interrupted: NodeJS.Signals | undefined

// Listening from the first connection to the last, not only while calls are under way: a signal
// caught while a listener is there and handed over once it is gone would be lost.
function listen(on: boolean): void {
  for (const s of ENDING_SIGNALS) process[on ? 'on' : 'off'](s, onEndingSignal)
}

function setBusy(connection: DBusConnection, isBusy: boolean): void {
  if (isBusy) busy.add(connection)
  else busy.delete(connection)
  if (busy.size > 0) return
  for (const idle of idleWaiters) idle()
  if (interrupted) process.kill(process.pid, interrupted)
}

function onEndingSignal(signal: NodeJS.Signals): void {
  // Nothing under way, and another part of mxtok handles this signal (exec passes it on): its own.
  if (busy.size === 0 && process.listenerCount(signal) > 1) return
  listen(false)
  interrupted = signal
  if (busy.size === 0) process.kill(process.pid, signal)
  else setTimeout(() => process.kill(process.pid, signal), SIGNAL_GRACE_MS)
}

/**
 * Resolves once no connection has a call under way, or after `ms`: a command that is done waits
 * here before the process ends, so that nothing it asked is left unanswered (see SIGNAL_GRACE_MS).
 */
export function settleBusCalls(ms: number): Promise<void> {
  if (busy.size === 0) return Promise.resolve()
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      idleWaiters.delete(done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    idleWaiters.add(done)
  })
}

/**
 * A client connection to a bus over a Unix socket, with any number of calls under way at once,
 * each answered by serial. It keeps the process alive only while a call is under way.
 */
export class DBusConnection {
  private readonly socket: Socket
  private connected = false
  /** BEGIN is on its way: messages may follow it on the socket. */
  private begun = false
  /** The bus said OK: what it sends now is messages. */
  private authenticated = false
  private chunks: Buffer[] = []
  private buffered = 0
  /** Bytes needed before the input is worth looking at again. */
  private needed = 1
  private serial = 0
  private readonly pending = new Map<number, Waiter<Message>>()
  private readonly queue: Buffer[] = []
  private inFlight = 0
  /** Deadlines of within(), put back at each sign of life from the bus. */
  private readonly watchdogs = new Set<() => void>()
  /** While above zero, a silent bus is expected (a prompt is up) and the deadlines of within() wait. */
  private quiet = 0
  private readonly signalWaiters = new Set<{match: SignalMatch; resolve: (body: DBusValue[]) => void}>()
  private failure?: BusFailure
  private readonly failed: Promise<never>
  private rejectFailed!: (error: BusFailure) => void

  constructor(socketPath: string) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject))
    this.failed.catch(() => {})
    if (open.size === 0) listen(true)
    open.add(this)
    this.socket = connect({path: socketPath})
    this.socket.unref()
    this.socket.on('connect', () => (this.connected = true))
    this.socket.on('data', (chunk) => this.receive(chunk))
    this.socket.on('error', (e: NodeJS.ErrnoException) =>
      this.fail(
        this.connected
          ? `the D-Bus session bus connection failed (${e.code ?? e.message})`
          : `cannot connect to the D-Bus session bus (${e.code ?? e.message})`,
      ),
    )
    this.socket.on('close', () => this.fail('the D-Bus session bus closed the connection'))
  }

  /**
   * Authenticates as this user (EXTERNAL) and says Hello; returns the connection's unique name.
   * AUTH, BEGIN, Hello and the calls made meanwhile go in one write, without waiting for the bus's
   * OK, as sd-bus does and the specification allows: the Secret Service starts on our key exchange
   * one round trip sooner. A bus that refuses us answers something else, and closes the connection.
   */
  async open(): Promise<string> {
    const uid = String(process.getuid?.() ?? 0)
    this.socket.write(`\0AUTH EXTERNAL ${Buffer.from(uid).toString('hex')}\r\nBEGIN\r\n`)
    // The bus drops a client whose first message is not Hello: it goes ahead of any call made before.
    const hello = this.send({destination: 'org.freedesktop.DBus', path: '/org/freedesktop/DBus', interface: 'org.freedesktop.DBus', member: 'Hello'}, 'first')
    this.begun = true
    this.flush()
    try {
      return (await hello).body?.[0] as string
    } catch (error) {
      throw error instanceof DBusError ? this.fail(`the D-Bus session bus refused us (${error.errorName})`) : error
    }
  }

  /** The reply to a method call; an error reply rejects with a DBusError. Calls may be made before open() ends. */
  call(c: MethodCall): Promise<Message> {
    return this.send(c, 'last')
  }

  private async send(c: MethodCall, place: 'first' | 'last'): Promise<Message> {
    if (this.failure) throw this.failure
    // The process is ending by a signal once the calls under way are answered: nothing new goes out.
    if (interrupted) return new Promise(() => {})
    const serial = ++this.serial
    const bytes = encodeMessage({type: MessageType.methodCall, serial, ...c})
    return new Promise((resolve, reject) => {
      this.pending.set(serial, {resolve, reject})
      if (place === 'first') this.queue.unshift(bytes)
      else this.queue.push(bytes)
      this.flush()
      this.holdProcess()
    })
  }

  /**
   * Runs `work`, whose waiting is all on this connection, allowing the bus `ms` of silence at a
   * time: past that the connection ends with `silence` as the failure. A deadline on the whole work
   * instead would fail a large batch that a busy service is answering steadily (gnome-keyring takes
   * about 1 ms per search of a thousand items, 10 ms of three thousand).
   */
  async within<T>(ms: number, silence: string, work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const rearm = () => {
      clearTimeout(timer)
      if (this.quiet === 0) timer = setTimeout(() => this.fail(silence), ms)
    }
    this.watchdogs.add(rearm)
    rearm()
    try {
      return await Promise.race([work(), this.failed])
    } finally {
      this.watchdogs.delete(rearm)
      clearTimeout(timer)
    }
  }

  /**
   * The body of the first signal matching `match` (which the caller has asked the bus to route
   * here with AddMatch), or undefined when none came within `ms`. Meanwhile the bus may be silent:
   * a service that waits for a person sends nothing until they answer.
   */
  async signal(match: SignalMatch, ms: number): Promise<DBusValue[] | undefined> {
    if (this.failure) throw this.failure
    let waiter!: {match: SignalMatch; resolve: (body: DBusValue[] | undefined) => void}
    const received = new Promise<DBusValue[] | undefined>((resolve) => (waiter = {match, resolve}))
    const timer = setTimeout(() => waiter.resolve(undefined), ms)
    this.signalWaiters.add(waiter)
    this.quiet++
    this.rearmWatchdogs()
    this.holdProcess()
    try {
      return await Promise.race([received, this.failed])
    } finally {
      clearTimeout(timer)
      this.signalWaiters.delete(waiter)
      this.quiet--
      this.rearmWatchdogs()
      this.holdProcess()
    }
  }

  private rearmWatchdogs(): void {
    for (const rearm of this.watchdogs) rearm()
  }

  /** Ends the connection; the first failure is the one every call is told. */
  fail(message: string): BusFailure {
    if (this.failure) return this.failure
    const failure = new BusFailure(message)
    this.failure = failure
    this.rejectFailed(failure)
    for (const waiter of this.pending.values()) waiter.reject(failure)
    this.pending.clear()
    this.queue.length = 0
    this.socket.destroy()
    setBusy(this, false)
    open.delete(this)
    if (open.size === 0 && !interrupted) listen(false)
    return failure
  }

  close(): void {
    this.fail('the D-Bus connection was closed')
  }

  private flush(): void {
    if (!this.begun || this.queue.length === 0 || interrupted) return
    this.socket.cork()
    while (this.queue.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      this.socket.write(this.queue.shift()!)
      this.inFlight++
    }
    this.socket.uncork()
  }

  private holdProcess(): void {
    setBusy(this, !this.failure && this.pending.size > 0)
    if (this.failure) return
    if (this.pending.size > 0 || this.signalWaiters.size > 0) this.socket.ref()
    else this.socket.unref()
  }

  private receive(chunk: Buffer): void {
    if (chunk.length > 0) {
      this.chunks.push(chunk)
      this.rearmWatchdogs()
    }
    this.buffered += chunk.length
    if (this.buffered < this.needed || this.failure) return
    let input = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks)
    try {
      if (!this.authenticated) input = this.authAnswer(input)
      if (this.authenticated) input = this.messages(input)
    } catch (error) {
      this.fail(`the D-Bus session bus sent what is not D-Bus (${(error as Error).message})`)
      return
    }
    this.chunks = input.length > 0 ? [input] : []
    this.buffered = input.length
  }

  /** Takes the bus's answer to AUTH, which must be OK; returns what is left: the first replies. */
  private authAnswer(input: Buffer): Buffer {
    const end = input.indexOf('\r\n')
    if (end < 0) {
      if (input.length > 4096) throw new Error('an authentication line of more than 4 KiB')
      this.needed = input.length + 1
      return input
    }
    this.needed = 1
    const answer = input.toString('latin1', 0, end)
    if (!answer.startsWith('OK ')) {
      this.fail(`the D-Bus session bus refused us (${answer.trim()})`)
      return Buffer.alloc(0)
    }
    this.authenticated = true
    return input.subarray(end + 2)
  }

  /** Answers the calls whose replies are whole in `input`; returns what is left. */
  private messages(input: Buffer): Buffer {
    for (;;) {
      const size = messageSize(input)
      if (size === undefined || input.length < size) {
        this.needed = size ?? 16
        return input
      }
      this.answer(input.subarray(0, size))
      input = input.subarray(size)
    }
  }

  private answer(bytes: Buffer): void {
    const header = decodeHeader(bytes)
    if (header.type === MessageType.signal) {
      this.signalled(bytes, header)
      return
    }
    const isReply = header.type === MessageType.methodReturn || header.type === MessageType.error
    const waiter = isReply && header.replySerial !== undefined ? this.pending.get(header.replySerial) : undefined
    // Signals, and anything else nobody waits for, are not even parsed further.
    if (!waiter) return
    this.pending.delete(header.replySerial!)
    this.inFlight--
    this.flush()
    this.holdProcess()
    let body: DBusValue[]
    try {
      body = decodeBody(bytes, header)
    } catch (error) {
      waiter.reject(new Error(`an unreadable D-Bus reply (${(error as Error).message})`))
      return
    }
    if (header.type === MessageType.error) {
      const detail = typeof body[0] === 'string' ? body[0] : undefined
      waiter.reject(new DBusError(header.errorName ?? 'org.freedesktop.DBus.Error.Failed', detail))
    } else {
      waiter.resolve({...header, body})
    }
  }

  private signalled(bytes: Buffer, header: Message): void {
    for (const waiter of this.signalWaiters) {
      const {match} = waiter
      if (header.path !== match.path || header.interface !== match.interface || header.member !== match.member) continue
      let body: DBusValue[]
      try {
        body = decodeBody(bytes, header)
      } catch {
        return
      }
      this.signalWaiters.delete(waiter)
      waiter.resolve(body)
      return
    }
  }
}
