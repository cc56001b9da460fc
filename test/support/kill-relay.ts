// An HTTP relay in front of a homeserver that can SIGKILL a client process right after relaying
// the answer to its k-th request: a kill -9 at a chosen point of a protocol, injected from outside
// the program, with the server's state exactly what the answers so far made it.
import {createServer, type IncomingMessage, request, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface KillRelay {
  /** http://127.0.0.1:<port>: give this to the client as its homeserver. */
  url: string
  /** "METHOD /path" of each request relayed since the last arm(). */
  readonly seen: string[]
  /**
   * Kill `pid` once the answer to the k-th request (from 1) from now on has been handed to the
   * kernel; later requests are dropped unrelayed until the next arm() or disarm().
   */
  arm(k: number, pid: number): void
  /** Relay without killing. */
  disarm(): void
  stop(): Promise<void>
}

/**
 * For a deployment of more than one server (a homeserver and its MAS): which one a path goes to,
 * and an answer rewritten on its way back (to name the relay where the server names itself).
 */
export interface RelayRoutes {
  upstreamFor(path: string): string
  rewrite?(path: string, body: Buffer, relayUrl: string): Buffer
}

export async function startKillRelay(target: string, routes?: RelayRoutes): Promise<KillRelay> {
  const seen: string[] = []
  let armed: {k: number; pid: number} | undefined
  // The client may get its next request out before the kill lands; the server must never see it.
  let cutoff = Infinity
  const relay = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    if (seen.length >= cutoff) {
      res.destroy()
      return
    }
    seen.push(`${req.method} ${req.url}`)
    const n = seen.length
    const upstream = new URL(routes?.upstreamFor(req.url ?? '/') ?? target)
    const out = request(
      {host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: {...req.headers, host: upstream.host}},
      (answer) => {
        const chunks: Buffer[] = []
        answer.on('data', (c: Buffer) => chunks.push(c))
        answer.on('end', () => {
          let body: Buffer = Buffer.concat(chunks)
          const headers = {...answer.headers}
          if (routes?.rewrite) {
            body = routes.rewrite(req.url ?? '/', body, url)
            headers['content-length'] = String(body.length)
            delete headers['transfer-encoding']
          }
          res.writeHead(answer.statusCode ?? 502, headers)
          res.end(body, () => {
            if (armed && n === armed.k) {
              try {
                process.kill(armed.pid, 'SIGKILL')
              } catch {
                // Gone already: the test sees that it was not killed by us.
              }
              armed = undefined
            }
          })
        })
      },
    )
    out.on('error', () => res.destroy())
    out.end(body)
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => relay(req, res, Buffer.concat(chunks)))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    seen,
    arm(k, pid) {
      seen.length = 0
      armed = {k, pid}
      cutoff = k
    },
    disarm() {
      armed = undefined
      cutoff = Infinity
    },
    async stop() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
