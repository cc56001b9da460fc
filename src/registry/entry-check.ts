import {isDeviceId} from '../matrix/device-id.js'
import {parseLocalpart, parseUserId} from '../matrix/user-id.js'
import {isStoreKind, STORE_KINDS} from '../store/store-kinds.js'

/** Session names: what create accepts, and so all a well-kept registry holds. */
export const SESSION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

type Fields = Record<string, unknown>

/**
 * Why a registry entry cannot be used, or undefined when it can. Every field a command reads is
 * checked here, once, when the file is read: a damaged entry is then named and skipped instead of
 * crashing every command that meets it.
 */
export function sessionProblem(name: string, entry: unknown): string | undefined {
  if (!SESSION_NAME.test(name)) return 'its name is not a valid session name'
  if (!isObject(entry)) return 'it is not an object'
  return (
    (entry.auth === 'client' ? clientProblem(entry) : common(entry)) ??
    (typeof entry.createdAt !== 'string' || Number.isNaN(Date.parse(entry.createdAt)) ? '"createdAt" is not a date' : undefined) ??
    (entry.auth !== undefined && !SESSION_AUTHS.includes(entry.auth as string)
      ? '"auth" is neither missing nor "oauth", "admin", "client" or "personal"'
      : undefined) ??
    (entry.auth === 'oauth' || entry.auth === 'client' || entry.oauth !== undefined ? grantProblem(entry.oauth) : undefined) ??
    (entry.auth === 'admin' && !(isObject(entry.admin) && typeof entry.admin.by === 'string' && isUserId(entry.admin.by))
      ? '"admin.by" is not a Matrix user ID'
      : undefined) ??
    (entry.auth === 'personal' && !(isObject(entry.personal) && isMasId(entry.personal.id) && isSessionName(entry.personal.admin))
      ? '"personal" does not hold a personal session ID and the session of its admin'
      : undefined) ??
    (entry.expiresAt !== undefined && (typeof entry.expiresAt !== 'string' || Number.isNaN(Date.parse(entry.expiresAt)))
      ? '"expiresAt" is not a date'
      : undefined)
  )
}

/** The same for a pending login, keyed by its secret account. */
export function pendingProblem(entry: unknown): string | undefined {
  if (!isObject(entry)) return 'it is not an object'
  // Given a bare localpart, create journals its first login before the server has named the account.
  const byLocalpart = typeof entry.userId === 'string' && !entry.userId.startsWith('@') && isLocalpart(entry.userId)
  if (entry.auth !== undefined && entry.auth !== 'client') return '"auth" is neither missing nor "client"'
  return (
    (entry.auth === 'client' ? clientProblem(entry) : common(byLocalpart ? {...entry, userId: `@${entry.userId}:localhost`} : entry)) ??
    (entry.name !== undefined && (typeof entry.name !== 'string' || !SESSION_NAME.test(entry.name)) ? '"name" is not a session name' : undefined) ??
    (typeof entry.since !== 'string' ? '"since" is not a date' : undefined) ??
    leaseProblem(entry) ??
    twoKinds(entry) ??
    (entry.oauth !== undefined ? grantProblem(entry.oauth) : undefined) ??
    (entry.admin !== undefined ? adminProblem(entry.admin) : undefined) ??
    (entry.personal !== undefined ? pendingPersonalProblem(entry) : undefined)
  )
}

const SESSION_AUTHS = ['oauth', 'admin', 'client', 'personal']

/**
 * An admin client's entry: its user and device are mxtok's own keys for it (see ClientAccount), and
 * its grant has the admin scope; the rest of the grant is checked as any other.
 */
function clientProblem(entry: Fields): string | undefined {
  const grant = isObject(entry.oauth) ? entry.oauth : {}
  if (typeof grant.clientId !== 'string' || entry.userId !== `client:${grant.clientId}`) return '"userId" is not "client:" and the grant\'s client ID'
  if (typeof entry.deviceId !== 'string' || !CLIENT_TOKEN_KEY.test(entry.deviceId)) return '"deviceId" is not an admin client\'s key (CLIENT and 12 characters)'
  if (grant.admin !== true) return '"oauth.admin" is not true, as an admin client\'s grant is'
  if (typeof entry.homeserver !== 'string' || !isWebUrl(entry.homeserver)) return '"homeserver" is not an http(s) URL'
  if (!isStoreKind(entry.store)) return `"store" is not one of ${STORE_KINDS.join(', ')}`
  return undefined
}

const CLIENT_TOKEN_KEY = /^CLIENT[A-Z2-7]{12}$/

function adminProblem(admin: unknown): string | undefined {
  if (!isObject(admin) || typeof admin.by !== 'string' || !isUserId(admin.by)) return '"admin.by" is not a Matrix user ID'
  if (typeof admin.session !== 'string' || !SESSION_NAME.test(admin.session)) return '"admin.session" is not a session name'
  if (admin.expiresAt !== undefined && (typeof admin.expiresAt !== 'string' || Number.isNaN(Date.parse(admin.expiresAt))))
    return '"admin.expiresAt" is not a date'
  return undefined
}

/** A lease is whole or absent (an older mxtok's entry): who holds it (user@host), its process, and until when. */
function leaseProblem(entry: Fields): string | undefined {
  if (entry.by === undefined && entry.pid === undefined && entry.until === undefined) return undefined
  if (typeof entry.by !== 'string' || !entry.by.includes('@')) return '"by" is not user@host'
  if (typeof entry.pid !== 'number' || !Number.isSafeInteger(entry.pid) || entry.pid <= 0) return '"pid" is not a process ID'
  if (typeof entry.until !== 'string' || Number.isNaN(Date.parse(entry.until))) return '"until" is not a date'
  return undefined
}

/** A pending login is of one kind: it has at most one of the kinds' own fields. */
function twoKinds(entry: Fields): string | undefined {
  const [a, b] = (['oauth', 'admin', 'personal'] as const).filter((k) => entry[k] !== undefined)
  return b === undefined ? undefined : `it has both "${a}" and "${b}": no login is both`
}

function pendingPersonalProblem(entry: Fields): string | undefined {
  const p = entry.personal
  if (!isSessionName(entry.name)) return '"name" is not a session name'
  if (!isObject(p) || !isSessionName(p.admin)) return '"personal.admin" is not a session name'
  if (typeof p.issuer !== 'string' || !isWebUrl(p.issuer)) return '"personal.issuer" is not an http(s) URL'
  if (p.id === undefined ? typeof p.humanName !== 'string' || p.humanName === '' : !isMasId(p.id) || p.humanName !== undefined)
    return 'it has neither a "personal.humanName" (a create) nor a "personal.id" (a rotation), or both'
  return undefined
}

const isSessionName = (v: unknown): v is string => typeof v === 'string' && SESSION_NAME.test(v)

// MAS names sessions by ULID; anything that goes into a URL path of its admin API has this grammar at least.
const isMasId = (v: unknown): v is string => typeof v === 'string' && /^[0-9A-Za-z]{1,64}$/.test(v)

function common(entry: Fields): string | undefined {
  if (typeof entry.userId !== 'string' || !isUserId(entry.userId)) return '"userId" is not a Matrix user ID'
  if (typeof entry.deviceId !== 'string' || !isDeviceId(entry.deviceId)) return '"deviceId" is not a device ID'
  if (typeof entry.homeserver !== 'string' || !isWebUrl(entry.homeserver)) return '"homeserver" is not an http(s) URL'
  if (!isStoreKind(entry.store)) return `"store" is not one of ${STORE_KINDS.join(', ')}`
  return undefined
}

function grantProblem(grant: unknown): string | undefined {
  if (!isObject(grant)) return '"oauth" is not an object'
  for (const key of ['issuer', 'tokenEndpoint'] as const)
    if (typeof grant[key] !== 'string' || !isWebUrl(grant[key])) return `"oauth.${key}" is not an http(s) URL`
  if (typeof grant.clientId !== 'string' || grant.clientId === '') return '"oauth.clientId" is not a string'
  if (grant.revocationEndpoint !== undefined && (typeof grant.revocationEndpoint !== 'string' || !isWebUrl(grant.revocationEndpoint)))
    return '"oauth.revocationEndpoint" is not an http(s) URL'
  if (grant.admin !== undefined && grant.admin !== true) return '"oauth.admin" is neither missing nor true'
  return undefined
}

const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v)

function isLocalpart(text: string): boolean {
  try {
    parseLocalpart(text)
    return true
  } catch {
    return false
  }
}

// Most entries share a few accounts: each distinct user ID is parsed once per process.
const userChecked = new Map<string, boolean>()

function isUserId(text: string): boolean {
  let ok = userChecked.get(text)
  if (ok === undefined) {
    try {
      parseUserId(text)
      ok = true
    } catch {
      ok = false
    }
    userChecked.set(text, ok)
  }
  return ok
}

// Most entries share a few homeservers: each distinct URL is parsed once per process.
const urlChecked = new Map<string, boolean>()

function isWebUrl(text: string): boolean {
  let ok = urlChecked.get(text)
  if (ok === undefined) {
    const url = URL.canParse(text) ? new URL(text) : undefined
    ok = url !== undefined && (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password
    urlChecked.set(text, ok)
  }
  return ok
}
