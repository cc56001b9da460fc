// A reverse proxy in front of a homeserver that writes down what the server answered: the tests'
// view, from outside mxtok, of which requests were sent and when. It can drop response headers,
// as some proxies in front of homeservers do, and rewrite answers, as a hostile server would.
import {createServer, type IncomingHttpHeaders, request} from 'node:http'

export interface RelayedExchange {
  method: string
  path: string
  status: number
  /** Response headers as the client received them. */
  headers: IncomingHttpHeaders
  /** Response headers as the server sent them. */
  upstreamHeaders: IncomingHttpHeaders
  body: unknown
  /** performance.now() when the request reached the relay. */
  at: number
}

export interface RecordingRelay {
  /** http://127.0.0.1:<port>: use as the homeserver URL. */
  url: string
  readonly exchanges: RelayedExchange[]
  stop(): Promise<void>
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export interface RelayOptions {
  dropHeaders?: string[]
  /** Changes the text of an answer before the client gets it; `path` is without its query. */
  rewrite?: (path: string, text: string) => string
}

export async function startRecordingRelay(target: string, opts: RelayOptions = {}): Promise<RecordingRelay> {
  const upstream = new URL(target)
  const drop = new Set((opts.dropHeaders ?? []).map((h) => h.toLowerCase()))
  const exchanges: RelayedExchange[] = []
  const server = createServer((req, res) => {
    const at = performance.now()
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const out = request(
        {host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: {...req.headers, host: upstream.host}},
        (answer) => {
          const body: Buffer[] = []
          answer.on('data', (c: Buffer) => body.push(c))
          answer.on('end', () => {
            const received = Buffer.concat(body)
            const text = opts.rewrite ? Buffer.from(opts.rewrite((req.url ?? '').split('?')[0], received.toString())) : received
            const kept = Object.entries(answer.headers).filter(
              ([k]) => !drop.has(k) && !(opts.rewrite && (k === 'content-length' || k === 'transfer-encoding')),
            )
            const headers = Object.fromEntries(opts.rewrite ? [...kept, ['content-length', String(text.length)]] : kept)
            exchanges.push({
              method: req.method ?? '',
              path: req.url ?? '',
              status: answer.statusCode ?? 0,
              headers,
              upstreamHeaders: answer.headers,
              body: parse(text.toString()),
              at,
            })
            res.writeHead(answer.statusCode ?? 502, headers).end(text)
          })
        },
      )
      out.on('error', () => res.writeHead(502).end())
      out.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('the recording relay is not listening')
  return {
    url: `http://127.0.0.1:${address.port}`,
    exchanges,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
