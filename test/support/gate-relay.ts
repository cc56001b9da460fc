// An HTTP relay in front of a homeserver that holds back the requests a test names until it opens
// the gate: several clients can then be made to reach a chosen point together, whatever the
// speed of the machine (the first login of several creates, held until the others have stopped).
import {createServer, type IncomingMessage, request, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface GateRelay {
  /** http://127.0.0.1:<port>: give this to the client as its homeserver. */
  url: string
  /** "METHOD /path" of each request that reached the relay, held or not. */
  readonly seen: string[]
  /** How many requests wait at the gate now. */
  readonly waiting: number
  /** Relays the requests held, and every one from now on. */
  open(): void
  stop(): Promise<void>
}

export async function startGateRelay(target: string, holds: (method: string, path: string) => boolean): Promise<GateRelay> {
  const seen: string[] = []
  const held: (() => void)[] = []
  let opened = false
  const upstream = new URL(target)
  const relay = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    const out = request(
      {host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: {...req.headers, host: upstream.host}},
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        answer.pipe(res)
      },
    )
    out.on('error', () => res.destroy())
    out.end(body)
  }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      seen.push(`${req.method} ${req.url}`)
      const go = () => relay(req, res, Buffer.concat(chunks))
      if (!opened && holds(req.method ?? '', (req.url ?? '').split('?')[0])) held.push(go)
      else go()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    get waiting() {
      return held.length
    },
    open() {
      opened = true
      for (const go of held.splice(0)) go()
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
