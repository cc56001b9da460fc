import {usageError} from '../errors.js'
import {LocalErrcode, MatrixError} from './errors.js'

export interface UserId {
  /** The full ID, `@localpart:server`. */
  full: string
  localpart: string
  /** Server name as written in the ID, port included. */
  serverName: string
  /** The server name without its port, brackets kept for IPv6: what discovery asks. */
  hostname: string
}

// Historical localparts allow any printable ASCII but ':' (spec: "Historical user IDs").
const LOCALPART = /^[\x21-\x39\x3B-\x7E]+$/
const DNS_NAME = /^[A-Za-z0-9.-]{1,255}$/
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
const IPV6 = /^\[[0-9A-Fa-f:.]{2,45}\]$/

/** Splits and checks a server name (`host[:port]`) by the spec's grammar; undefined when invalid. */
export function parseServerName(serverName: string): {hostname: string; port?: number} | undefined {
  const m = /^(\[[^\]]*\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(serverName)
  if (!m) return undefined
  const [, hostname, portText] = m
  const port = portText === undefined ? undefined : Number(portText)
  if (port !== undefined && (port < 1 || port > 65535)) return undefined
  if (hostname.startsWith('[')) {
    if (!IPV6.test(hostname) || !isIpv6(hostname.slice(1, -1))) return undefined
  } else {
    const v4 = IPV4.exec(hostname)
    if (v4 ? v4.slice(1).some((octet) => Number(octet) > 255) : !DNS_NAME.test(hostname)) return undefined
  }
  return {hostname, port}
}

function isIpv6(text: string): boolean {
  try {
    return new URL(`http://[${text}]/`).hostname.length > 2
  } catch {
    return false
  }
}

export function parseUserId(text: string): UserId {
  const bad = (why: string) => usageError(`"${text}" is not a Matrix user ID (${why}); write it as @localpart:server.name`)
  if (!text.startsWith('@')) throw bad('it must start with @')
  if (text.length > 255) throw bad('longer than 255 characters')
  const colon = text.indexOf(':')
  if (colon < 0) throw bad('no ":server" part')
  const localpart = text.slice(1, colon)
  const serverName = text.slice(colon + 1)
  if (!localpart || !LOCALPART.test(localpart)) throw bad('invalid localpart')
  const server = parseServerName(serverName)
  if (!server) throw bad(`invalid server name "${serverName}"`)
  return {full: text, localpart, serverName, hostname: server.hostname}
}

/** A bare localpart, as --user may give it: only the homeserver knows the server name that completes it. */
export function parseLocalpart(text: string): string {
  if (text.length > 255 || !LOCALPART.test(text)) throw usageError(`"${text}" is neither a Matrix user ID (@localpart:server.name) nor a localpart`)
  return text
}

/**
 * Whether `userId` (a valid full ID, as the server wrote it) is the account that `who` names: the
 * same full ID, or, for a bare localpart, the same localpart on whatever server.
 */
export const isAccount = (userId: string, who: string): boolean => (who.startsWith('@') ? userId === who : userId.slice(1, userId.indexOf(':')) === who)

/** A full ID as given, or a localpart completed with the homeserver's server name. */
export function resolveUserId(user: string, serverName?: string): UserId {
  if (user.startsWith('@')) return parseUserId(user)
  if (!serverName) throw usageError(`--user "${user}" is not a full Matrix ID; write @${user}:your.server or pass --homeserver`)
  return parseUserId(`@${user}:${serverName}`)
}

/** A user ID the server answered with: an invalid one is the server's fault (exit 5), not the user's. */
export function parseAnsweredUserId(text: string, homeserver: URL, endpoint: 'the login' | 'whoami'): UserId {
  try {
    return parseUserId(text)
  } catch {
    throw new MatrixError({status: 200, errcode: LocalErrcode.badResponse, message: `${homeserver.host} answered ${endpoint} with an invalid user_id`})
  }
}
