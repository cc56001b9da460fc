// A relay in front of a D-Bus bus that records every method call its clients make, as the service
// sees them, the ones a client left without waiting for their answer, and every byte that passes:
// what a Secret Service client really did, from outside it.
import {mkdtempSync} from 'node:fs'
import {connect, createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {unixSocketPath} from '../../src/store/secret-service/dbus-connection.js'
import {decodeHeader, decodeMessage, messageSize, MessageType, type Message} from '../../src/store/secret-service/dbus-wire.js'

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
    let input = Buffer.alloc(0)
    let begun = false
    const pending = new Map<number, Message>()
    client.on('data', (chunk) => {
      seen.push(chunk)
      upstream.write(chunk)
      input = Buffer.concat([input, chunk])
      if (!begun) {
        const at = input.indexOf('BEGIN\r\n')
        if (at < 0) return
        begun = true
        input = input.subarray(at + 7)
      }
      for (let size = messageSize(input); size !== undefined && input.length >= size; size = messageSize(input)) {
        const call = decodeMessage(input.subarray(0, size))
        relay.calls.push(call)
        if (call.type === MessageType.methodCall && !((call.flags ?? 0) & NO_REPLY_EXPECTED)) pending.set(call.serial, call)
        input = input.subarray(size)
      }
    })
    // The bus's answer to AUTH, one line, then messages: replies strike their calls off.
    let output = Buffer.alloc(0)
    let authenticated = false
    upstream.on('data', (chunk) => {
      seen.push(chunk)
      client.write(chunk)
      output = Buffer.concat([output, chunk])
      if (!authenticated) {
        const end = output.indexOf('\r\n')
        if (end < 0) return
        authenticated = true
        output = output.subarray(end + 2)
      }
      for (let size = messageSize(output); size !== undefined && output.length >= size; size = messageSize(output)) {
        const header = decodeHeader(output.subarray(0, size))
        if (header.replySerial !== undefined) pending.delete(header.replySerial)
        output = output.subarray(size)
      }
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

/** The header flag of a call that wants no answer. */
const NO_REPLY_EXPECTED = 0x1

export const called = (relay: Relay, member: string) => relay.calls.filter((c) => c.member === member)
