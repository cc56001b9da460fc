// A relay in front of a server that counts the connections clients open through it: how many
// sockets a command really uses, seen from outside the process, whatever its HTTP or D-Bus
// library does inside. TCP for a homeserver, a Unix socket for a D-Bus bus.
import {mkdtemp, rm} from 'node:fs/promises'
import {connect, createServer, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export type RelayTarget = {host: string; port: number} | {path: string}

export interface CountingProxy {
  /** http://<host>:<port> for a TCP target, the socket's path for a Unix one. */
  address: string
  /** Connections accepted since start or the last reset. */
  readonly opened: number
  /** Most connections open at the same moment since start or the last reset. */
  readonly peak: number
  reset(): void
  stop(): Promise<void>
}

/** `host`: the address a TCP relay listens on (default 127.0.0.1). */
export async function startCountingProxy(target: RelayTarget, opts: {host?: string} = {}): Promise<CountingProxy> {
  const host = opts.host ?? '127.0.0.1'
  const clients = new Set<Socket>()
  const upstreams = new Set<Socket>()
  // Connections of an earlier run may still be closing after a reset; they count for nothing.
  let epoch = 0
  let opened = 0
  let open = 0
  let peak = 0
  const server = createServer((client) => {
    const born = epoch
    opened++
    open++
    peak = Math.max(peak, open)
    clients.add(client)
    const upstream = 'path' in target ? connect(target.path) : connect(target.port, target.host)
    upstreams.add(upstream)
    let ended = false
    const end = () => {
      if (!ended && born === epoch) open--
      ended = true
      client.destroy()
      upstream.destroy()
      clients.delete(client)
      upstreams.delete(upstream)
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pipe(upstream).pipe(client)
  })
  const dir = 'path' in target ? await mkdtemp(join(tmpdir(), 'mxtok-relay-')) : undefined
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    if (dir) server.listen(join(dir, 'socket'), resolve)
    else server.listen(0, host, resolve)
  })
  const bound = server.address()
  if (bound === null) throw new Error('the counting proxy is not listening')
  return {
    address: typeof bound === 'string' ? bound : `http://${host.includes(':') ? `[${host}]` : host}:${bound.port}`,
    get opened() {
      return opened
    },
    get peak() {
      return peak
    },
    reset() {
      epoch++
      opened = 0
      open = 0
      peak = 0
    },
    async stop() {
      for (const s of [...clients, ...upstreams]) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      if (dir) await rm(dir, {recursive: true, force: true})
    },
  }
}

/** The host and port of an http:// base URL, as a relay target. */
export function tcpTarget(baseUrl: string): RelayTarget {
  const url = new URL(baseUrl)
  return {host: url.hostname, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80))}
}
