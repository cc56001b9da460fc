import {usageError} from '../errors.js'

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname)
}

/**
 * Checks a homeserver base URL before anything is sent to it: a token must never sit in a URL with
 * credentials. Plain http:// is the transport's to refuse (transport.ts), for every URL alike.
 */
export function parseHomeserverUrl(text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw usageError(`"${text}" is not a URL; give the homeserver as https://matrix.example.com`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw usageError(`homeserver URL must use https:// (got ${url.protocol})`)
  if (url.username || url.password) throw usageError('the homeserver URL must not contain a user name or password')
  if (url.hash || text.includes('#')) throw usageError('the homeserver URL must not contain a #fragment')
  if (url.search) throw usageError('the homeserver URL must not contain a ?query')
  return normalise(url)
}

/** One spelling per server, so sessions on the same server share one entry and one pool. */
export function normalise(url: URL): URL {
  const out = new URL(url.href)
  out.pathname = out.pathname.replace(/\/+$/, '') || '/'
  return out
}

export function homeserverKey(url: URL): string {
  return url.href.replace(/\/$/, '')
}
