import {mkdtempSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {BusFailure, DBusConnection, DBusError, settleBusCalls, unixSocketPath} from '../../src/store/secret-service/dbus-connection.js'
import {decodeMessage, encodeMessage, type Message, MessageType, messageSize} from '../../src/store/secret-service/dbus-wire.js'

type Handler = (call: Message, bus: {reply: (to: Message, m: Partial<Message>) => void; send: (m: Partial<Message>) => void}) => void

const servers: Server[] = []
const OK = 'OK 0123456789abcdef0123456789abcdef\r\n'
afterEach(() => {
  for (const s of servers.splice(0)) s.close()
})

/**
 * A bus of a few lines: EXTERNAL accepted (or refused), Hello answered, every other call to `handle`.
 * `okWithHello`: the OK to AUTH comes only with the answer to Hello, in one write, as a bus may send them.
 */
function fakeBus(handle: Handler, opts: {auth?: string; onHello?: () => void; okWithHello?: boolean} = {}): string {
  const path = join(mkdtempSync(join(tmpdir(), 'mxtok-fakebus-')), 'bus')
  let serial = 1000
  const server = createServer((socket: Socket) => {
    let input = Buffer.alloc(0)
    let authenticated = false
    let said = false
    const send = (m: Partial<Message>) => socket.write(encodeMessage({type: MessageType.methodReturn, serial: ++serial, ...m}))
    const reply = (to: Message, m: Partial<Message>) => send({replySerial: to.serial, ...m})
    socket.on('data', (chunk) => {
      input = Buffer.concat([input, chunk])
      while (!authenticated) {
        const end = input.indexOf('\r\n')
        if (end < 0) return
        const line = input.toString('latin1', 0, end)
        input = input.subarray(end + 2)
        if (line.startsWith('\0AUTH EXTERNAL ') && !opts.okWithHello) socket.write(opts.auth ?? OK)
        if (line === 'BEGIN') authenticated = true
      }
      for (let size = messageSize(input); size !== undefined && input.length >= size; size = messageSize(input)) {
        const call = decodeMessage(input.subarray(0, size))
        input = input.subarray(size)
        // A real bus drops a client whose first message is not Hello.
        if (call.member !== 'Hello' && !said) return void socket.destroy()
        if (call.member === 'Hello') {
          said = true
          opts.onHello?.()
          const hello = encodeMessage({type: MessageType.methodReturn, serial: ++serial, replySerial: call.serial, signature: 's', body: [':1.7']})
          socket.write(opts.okWithHello ? Buffer.concat([Buffer.from(OK), hello]) : hello)
        } else handle(call, {reply, send})
      }
    })
  }).listen(path)
  servers.push(server)
  return path
}

const call = (member: string, body: string[] = []) => ({
  destination: 'org.example',
  path: '/',
  interface: 'org.example.Test',
  member,
  ...(body.length ? {signature: 's', body} : {}),
})

describe('DBusConnection', () => {
  it('says Hello and matches replies to calls by serial, whatever their order', async () => {
    const held: Message[] = []
    const conn = new DBusConnection(
      fakeBus((m, bus) => {
        held.push(m)
        // A signal in between is nobody's reply.
        bus.send({type: MessageType.signal, path: '/', interface: 'org.example.Test', member: 'Noise'})
        if (held.length === 5) for (const h of held.reverse()) bus.reply(h, {signature: 's', body: [`echo ${h.body![0]}`]})
      }),
    )
    expect(await conn.open()).toBe(':1.7')
    const replies = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((x) => conn.call(call('Echo', [x]))))
    expect(replies.map((r) => r.body![0])).toEqual(['echo a', 'echo b', 'echo c', 'echo d', 'echo e'])
    conn.close()
  })

  it('sends AUTH, BEGIN and Hello without waiting for the OK, and reads replies that come in one piece with it', async () => {
    // On the old handshake, which waited for OK before BEGIN, this bus and the client waited on each other.
    const conn = new DBusConnection(fakeBus((m, bus) => bus.reply(m, {signature: 's', body: ['ok']}), {okWithHello: true}))
    const answered = conn.call(call('Echo', ['x']))
    expect(await conn.within(1000, 'the handshake waited on the bus', () => conn.open())).toBe(':1.7')
    expect((await answered).body).toEqual(['ok'])
    conn.close()
  })

  it('sends Hello first even when a call is made while the handshake is under way', async () => {
    const order: string[] = []
    const conn = new DBusConnection(
      fakeBus(
        (m, bus) => {
          order.push(m.member!)
          bus.reply(m, {signature: 's', body: ['ok']})
        },
        {onHello: () => order.push('Hello')},
      ),
    )
    const opened = conn.open()
    const early = conn.call(call('Early', ['x']))
    expect(await opened).toBe(':1.7')
    expect((await early).body).toEqual(['ok'])
    expect(order).toEqual(['Hello', 'Early'])
    conn.close()
  })

  it('rejects an error reply with its D-Bus error name, and keeps the text out of the message', async () => {
    const conn = new DBusConnection(
      fakeBus((m, bus) => bus.reply(m, {type: MessageType.error, errorName: 'org.example.Error.Nope', signature: 's', body: ['details from the service']})),
    )
    await conn.open()
    const error = await conn.call(call('Fail')).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DBusError)
    expect(error).toMatchObject({errorName: 'org.example.Error.Nope', message: 'org.example.Error.Nope', detail: 'details from the service'})
    // The connection is still good after an error reply.
    await expect(conn.call(call('Fail'))).rejects.toBeInstanceOf(DBusError)
    conn.close()
  })

  it('keeps no more calls under way than the bus allows by default, and answers them all', async () => {
    let outstanding = 0
    let peak = 0
    const conn = new DBusConnection(
      fakeBus((m, bus) => {
        peak = Math.max(peak, ++outstanding)
        setTimeout(() => {
          outstanding--
          bus.reply(m, {signature: 's', body: [m.body![0] as string]})
        }, 1)
      }),
    )
    await conn.open()
    const replies = await Promise.all(Array.from({length: 300}, (_, i) => conn.call(call('Slow', [String(i)]))))
    expect(replies.map((r) => Number(r.body![0]))).toEqual(Array.from({length: 300}, (_, i) => i))
    expect(peak).toBeGreaterThan(1)
    expect(peak).toBeLessThanOrEqual(64)
    conn.close()
  })

  it('ends a connection that stays silent past the deadline: the call under way and every later one fail with it', async () => {
    const conn = new DBusConnection(fakeBus(() => {}))
    const first = conn.within(100, 'silent for 0.1 s', async () => {
      await conn.open()
      return conn.call(call('Never'))
    })
    await expect(first).rejects.toThrow(new BusFailure('silent for 0.1 s'))
    await expect(conn.call(call('Later'))).rejects.toThrow('silent for 0.1 s')
  })

  it('lets a busy bus that answers steadily take longer than the deadline in all', async () => {
    let answered = 0
    const conn = new DBusConnection(
      fakeBus((m, bus) => {
        setTimeout(() => bus.reply(m, {signature: 's', body: [String(++answered)]}), 60 * (Number(m.body![0]) + 1))
      }),
    )
    // Ten answers 60 ms apart: 600 ms in all, never 200 ms without one.
    const replies = await conn.within(200, 'silent for 0.2 s', async () => {
      await conn.open()
      return Promise.all(Array.from({length: 10}, (_, i) => conn.call(call('Slow', [String(i)]))))
    })
    expect(replies).toHaveLength(10)
    conn.close()
  })

  it('lets a finished command wait for the answers to its calls under way, for a bounded time', async () => {
    let answered = false
    const conn = new DBusConnection(
      fakeBus((m, bus) => {
        if (m.member === 'Slow') setTimeout(() => ((answered = true), bus.reply(m, {signature: 's', body: ['late']})), 150)
      }),
    )
    await conn.open()
    const slow = conn.call(call('Slow'))
    const started = Date.now()
    await settleBusCalls(2000)
    expect(answered).toBe(true)
    expect(Date.now() - started).toBeLessThan(1000)
    expect((await slow).body).toEqual(['late'])
    // An answer that never comes holds the end back only as long as asked.
    void conn.call(call('Never')).catch(() => {})
    const again = Date.now()
    await settleBusCalls(100)
    expect(Date.now() - again).toBeGreaterThanOrEqual(90)
    conn.close()
    await settleBusCalls(5000)
  })

  it('says when the bus refuses us, cannot be reached, or is silent from the start', async () => {
    const refused = new DBusConnection(fakeBus(() => {}, {auth: 'REJECTED EXTERNAL\r\n'}))
    await expect(refused.open()).rejects.toThrow('the D-Bus session bus refused us (REJECTED EXTERNAL)')
    await expect(new DBusConnection('/nonexistent/bus').open()).rejects.toThrow('cannot connect to the D-Bus session bus (ENOENT)')
    const path = join(mkdtempSync(join(tmpdir(), 'mxtok-silentbus-')), 'bus')
    servers.push(createServer(() => {}).listen(path))
    const silent = new DBusConnection(path)
    await expect(silent.within(100, 'no answer', () => silent.open())).rejects.toThrow('no answer')
  })
})

describe('unixSocketPath', () => {
  it('finds the first Unix socket of an address, escapes undone', () => {
    expect(unixSocketPath('unix:path=/run/user/1000/bus')).toBe('/run/user/1000/bus')
    expect(unixSocketPath('tcp:host=x,port=1;unix:path=/tmp/a%20b,guid=0123')).toBe('/tmp/a b')
    expect(unixSocketPath('unix:abstract=/tmp/dbus-XYZ,guid=1')).toBe('\0/tmp/dbus-XYZ')
    expect(unixSocketPath('tcp:host=localhost,port=1234')).toBeUndefined()
    expect(unixSocketPath('')).toBeUndefined()
  })
})
