// A relay in front of a D-Bus bus that records every method call its clients make, as the service
// sees them, the ones a client left without waiting for their answer, and every byte that passes:
// what a Secret Service client really did, from outside it.
import {mkdtempSync} from 'node:fs'
import {connect, createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {unixSocketPath} from '../../src/store/secret-service/dbus-connection.js'
import {decodeHeader, decodeMessage, type Message, MessageType, messageSize} from '../../src/store/secret-service/dbus-wire.js'

export interface Relay {
  address: string
  /** Method calls from clients, in the order sent. */
  calls: Message[]
  /**
   * Calls whose client closed its connection before their answer came back. gnome-keyring 42
   * handles such a call after it has forgotten the client, and aborts (upstream #190).
   */
  unanswered: Message[]
  /** Everything that went through, both ways. */
  traffic(): Buffer
  connections: number
  stop(): Promise<void>
}

/** Passes a bus through, parsing what clients send once they are authenticated. */
export async function startRelay(busAddress: string): Promise<Relay> {
  const target = unixSocketPath(busAddress)!
  const path = join(mkdtempSync(join(tmpdir(), 'mxtok-relay-')), 'bus')
  const seen: Buffer[] = []
  const relay: Relay = {
    address: `unix:path=${path}`,
    calls: [],
    unanswered: [],
    traffic: () => Buffer.concat(seen),
    connections: 0,
    stop: () => {
      // The stores under test keep their connection open for the life of the process.
      for (const s of sockets) s.destroy()
      return new Promise((done) => server.close(() => done()))
    },
  }
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    relay.connections++
    const upstream = connect(target)
    sockets.add(client).add(upstream)
    const pending = new Map<number, Message>()
    // What the client sends after BEGIN, and the bus after its one-line answer to AUTH, is messages.
    relayed(client, upstream, seen, 'BEGIN\r\n', (bytes) => {
      const call = decodeMessage(bytes)
      relay.calls.push(call)
      if (call.type === MessageType.methodCall && !((call.flags ?? 0) & NO_REPLY_EXPECTED)) pending.set(call.serial, call)
    })
    // Replies strike their calls off.
    relayed(upstream, client, seen, '\r\n', (bytes) => {
      const header = decodeHeader(bytes)
      if (header.replySerial !== undefined) pending.delete(header.replySerial)
    })
    client.on('close', () => {
      relay.unanswered.push(...pending.values())
      pending.clear()
      upstream.destroy()
    })
    upstream.on('close', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  await new Promise<void>((done) => server.listen(path, done))
  return relay
}

/** Passes what `from` sends to `to`, keeping it in `seen`, and each whole message of it, once past `authEnd`, to `message`. */
function relayed(from: Socket, to: Socket, seen: Buffer[], authEnd: string, message: (bytes: Buffer) => void): void {
  let input = Buffer.alloc(0)
  let authenticated = false
  from.on('data', (chunk: Buffer) => {
    seen.push(chunk)
    to.write(chunk)
    input = Buffer.concat([input, chunk])
    if (!authenticated) {
      const at = input.indexOf(authEnd)
      if (at < 0) return
      authenticated = true
      input = input.subarray(at + authEnd.length)
    }
    for (let size = messageSize(input); size !== undefined && input.length >= size; size = messageSize(input)) {
      message(input.subarray(0, size))
      input = input.subarray(size)
    }
  })
}

/** The header flag of a call that wants no answer. */
const NO_REPLY_EXPECTED = 0x1

export const called = (relay: Relay, member: string) => relay.calls.filter((c) => c.member === member)
