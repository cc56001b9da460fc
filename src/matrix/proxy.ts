import {connect as plainConnect, type Socket} from 'node:net'
import {usageError} from '../errors.js'
import {isLoopbackHost} from './homeserver-url.js'

/**
 * The proxy a request to `url` goes through, from the variables curl and most tools honour:
 * HTTPS_PROXY for https:// URLs, HTTP_PROXY for http:// ones, NO_PROXY for the hosts that skip it.
 * Plain http:// to loopback always goes direct: it is allowed only because it never leaves the
 * machine, and through a proxy the password and token would cross the network in clear.
 */
export function proxyFor(url: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined
  const raw = url.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy)
  if (!raw?.trim() || bypassed(url, env.NO_PROXY ?? env.no_proxy ?? '')) return undefined
  let proxy: URL
  try {
    proxy = new URL(raw.includes('://') ? raw.trim() : `http://${raw.trim()}`)
  } catch {
    throw usageError(`the proxy variable for ${url.protocol.slice(0, -1)} URLs is not a URL; set it to http://HOST:PORT or unset it`)
  }
  // A TLS connection to the proxy itself is rare enough not to carry its own code path.
  if (proxy.protocol !== 'http:')
    throw usageError(`only http:// proxies are supported, not ${proxy.protocol}// ones; set the proxy variable to http://HOST:PORT`)
  return proxy
}

/** NO_PROXY: "*", or comma- or space-separated hosts, each also covering its subdomains, with an optional port. */
export function bypassed(url: URL, noProxy: string): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  for (const entry of noProxy.split(/[\s,]+/).filter(Boolean)) {
    if (entry === '*') return true
    // A bare IPv6 address has colons of its own and no port.
    const m = entry.split(':').length > 2 && !entry.startsWith('[') ? [entry, entry] : /^(?:\*?\.)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(entry)
    if (!m) continue
    const name = m[1].toLowerCase().replace(/^\[(.*)\]$/, '$1')
    if (m[2] && m[2] !== port) continue
    if (host === name || host.endsWith(`.${name}`)) return true
  }
  return false
}

/** The code of errors where the proxy failed or said no: the request never reached the homeserver. */
export const PROXY_FAILED = 'MXTOK_PROXY_FAILED'

/** A TCP stream to host:port through an HTTP CONNECT tunnel, for TLS (or plain HTTP) on top. */
export function openTunnel(proxy: URL, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = plainConnect({host: proxy.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(proxy.port || 80)})
    const target = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
    const auth = proxy.username
      ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n`
      : ''
    let head = Buffer.alloc(0)
    const fail = (error: Error) => {
      socket.destroy()
      reject(error)
    }
    const unreachable = (error: NodeJS.ErrnoException) => fail(proxyError(`cannot reach the proxy ${proxy.host} (${error.code ?? error.message})`))
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end < 0) {
        if (head.length > 16 * 1024) fail(proxyError(`the proxy ${proxy.host} refused the tunnel with an oversized answer`))
        return
      }
      socket.off('data', onData)
      socket.off('error', unreachable)
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1', 0, end))?.[1]
      if (status !== '200')
        return fail(proxyError(`the proxy ${proxy.host} refused the tunnel with ${status ? `HTTP ${status}` : 'an answer that is not HTTP'}`))
      // Bytes after the proxy's answer belong to the tunnelled stream.
      if (head.length > end + 4) socket.unshift(head.subarray(end + 4))
      resolve(socket)
    }
    socket.on('error', unreachable)
    socket.on('data', onData)
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`)
  })
}

const proxyError = (message: string) => Object.assign(new Error(message), {code: PROXY_FAILED})
