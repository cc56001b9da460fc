// A forward proxy that speaks HTTP CONNECT, as corporate proxies do: it records each tunnel and
// every byte it relays, so a test can prove what went through it and what it could read.
import {type AddressInfo, connect, createServer, type Socket} from 'node:net'

export interface ConnectProxy {
  url: string
  /** host:port of each tunnel asked for, in order. */
  tunnels: string[]
  /** Everything relayed from client to server, as the proxy saw it. */
  relayed(): Buffer
  close(): Promise<void>
}

/** `refuseWith`: answer every CONNECT with this status instead of opening the tunnel. */
export async function startConnectProxy(opts: {refuseWith?: number} = {}): Promise<ConnectProxy> {
  const tunnels: string[] = []
  const seen: Buffer[] = []
  const sockets = new Set<Socket>()
  const server = createServer((client) => {
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    let head = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) return
      client.off('data', onData)
      const target = /^CONNECT (\S+) HTTP\/1\.1\r\n/.exec(head.toString('latin1', 0, end + 2))?.[1]
      if (!target) return void client.end('HTTP/1.1 400 Bad Request\r\n\r\n')
      tunnels.push(target)
      if (opts.refuseWith) return void client.end(`HTTP/1.1 ${opts.refuseWith} Refused\r\ncontent-length: 0\r\n\r\n`)
      const [, host, port] = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target) ?? []
      const upstream = connect({host, port: Number(port)}, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        const rest = head.subarray(end + 4)
        if (rest.length > 0) {
          seen.push(rest)
          upstream.write(rest)
        }
        client.on('data', (c: Buffer) => seen.push(c))
        client.pipe(upstream)
        upstream.pipe(client)
      })
      sockets.add(upstream)
      upstream.on('close', () => sockets.delete(upstream))
      upstream.on('error', () => client.destroy())
    }
    client.on('data', onData)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    relayed: () => Buffer.concat(seen),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
