// A relay in front of a D-Bus bus that records every method call its clients make, as the service
// sees them, and every byte that passes: what a Secret Service client really did, from outside it.
import {mkdtempSync} from 'node:fs'
import {connect, createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {unixSocketPath} from '../../src/store/secret-service/dbus-connection.js'
import {decodeMessage, messageSize, type Message} from '../../src/store/secret-service/dbus-wire.js'

export interface Relay {
  address: string
  /** Method calls from clients, in the order sent. */
  calls: Message[]
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
        relay.calls.push(decodeMessage(input.subarray(0, size)))
        input = input.subarray(size)
      }
    })
    upstream.on('data', (chunk) => {
      seen.push(chunk)
      client.write(chunk)
    })
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
    client.on('error', () => upstream.destroy())
    upstream.on('error', () => client.destroy())
  })
  await new Promise<void>((done) => server.listen(path, done))
  return relay
}

export const called = (relay: Relay, member: string) => relay.calls.filter((c) => c.member === member)
