// A homeserver that misbehaves on purpose, on loopback: each test decides how it answers.
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface SeenRequest {
  method: string
  path: string
  authorization?: string
  body: string
}

export type Handler = (req: SeenRequest, res: ServerResponse) => void

export interface BadHomeserver {
  url: string
  seen: SeenRequest[]
  /** Handlers by "METHOD /path"; anything else answers 404 M_UNRECOGNIZED. */
  routes: Map<string, Handler>
  close(): Promise<void>
}

export async function startBadHomeserver(): Promise<BadHomeserver> {
  const seen: SeenRequest[] = []
  const routes = new Map<string, Handler>()
  const open = new Set<ServerResponse>()
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]
      const r: SeenRequest = {method: req.method ?? 'GET', path, authorization: req.headers.authorization, body}
      seen.push(r)
      open.add(res)
      res.on('close', () => open.delete(res))
      const handler = routes.get(`${r.method} ${path}`)
      if (handler) handler(r, res)
      else json(res, 404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const {port} = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    routes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, {'content-type': 'application/json', ...headers})
  res.end(JSON.stringify(body))
}
