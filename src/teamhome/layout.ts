import {assertNever} from '../errors.js'
import {pendingProblem, sessionProblem} from '../registry/entry-check.js'
import {pendingEntry, pendingFromEntry, sessionEntry, sessionFromEntry} from '../registry/registry-format.js'
import type {PendingLogin, Session} from '../registry/session.js'

// The team home's layout, a public contract (docs/teams.md): one secret per session at
// PREFIX/sessions/NAME holding both the session's record and its token, so that one check-and-set
// write records a session with its token; one secret per login under way at PREFIX/pending/KEY.
// Every value is a string, as Agent templates, External Secrets and Ansible address them.

/** The version of the fields below, in every secret as mxtok_layout. Layout 1 was the account-keyed store of tokens alone. */
export const TEAM_LAYOUT = '2'

/** Fields mxtok writes in a session's secret; any other field someone added is kept as it was. */
const SESSION_FIELDS = [
  'access_token',
  'user_id',
  'device_id',
  'homeserver',
  'mxtok_layout',
  'mxtok_auth',
  'mxtok_refresh_token',
  'mxtok_access_expires_at',
  'mxtok_expires_at',
  'mxtok_created_at',
  'mxtok_created_by',
  'mxtok_admin_by',
  'mxtok_admin_key',
  'mxtok_oauth_issuer',
  'mxtok_oauth_client_id',
  'mxtok_oauth_token_endpoint',
  'mxtok_oauth_revocation_endpoint',
  'mxtok_oauth_admin',
  'mxtok_client_secret',
  'mxtok_personal_id',
  'mxtok_personal_admin',
  'mxtok_claim',
  'mxtok_deleted_at',
] as const

type Fields = Record<string, unknown>

/** What a session's secret holds, read. */
export type SessionRead =
  | {kind: 'session'; session: Session; secret: string | null}
  /** What a removal writes before it deletes the key, and leaves when it cannot: a new session of that name is written on it. */
  | {kind: 'deleted'}
  | {kind: 'damaged'; problem: string}

export function readSessionFields(name: string, data: Fields): SessionRead {
  if (typeof data.mxtok_deleted_at === 'string') return {kind: 'deleted'}
  if (data.mxtok_layout !== TEAM_LAYOUT)
    return {kind: 'damaged', problem: `its mxtok_layout is ${JSON.stringify(data.mxtok_layout ?? null)}, not "${TEAM_LAYOUT}"`}
  const text = (field: string) => (typeof data[field] === 'string' && data[field] !== '' ? (data[field] as string) : undefined)
  const auth = text('mxtok_auth')
  const entry: Fields = {
    userId: text('user_id'),
    homeserver: text('homeserver'),
    deviceId: auth === 'admin' ? text('mxtok_admin_key') : text('device_id'),
    createdAt: text('mxtok_created_at'),
    store: 'vault',
    ...(auth === 'password' ? {} : {auth}),
    ...(text('mxtok_expires_at') === undefined ? {} : {expiresAt: text('mxtok_expires_at')}),
  }
  if (auth === 'oauth' || auth === 'client') {
    entry.oauth = {
      issuer: text('mxtok_oauth_issuer'),
      clientId: text('mxtok_oauth_client_id'),
      tokenEndpoint: text('mxtok_oauth_token_endpoint'),
      ...(text('mxtok_oauth_revocation_endpoint') === undefined ? {} : {revocationEndpoint: text('mxtok_oauth_revocation_endpoint')}),
      ...(text('mxtok_oauth_admin') === undefined ? {} : {admin: text('mxtok_oauth_admin') === 'true' ? true : text('mxtok_oauth_admin')}),
    }
  }
  if (auth === 'admin') entry.admin = {by: text('mxtok_admin_by')}
  if (auth === 'personal') entry.personal = {id: text('mxtok_personal_id'), admin: text('mxtok_personal_admin')}
  const problem = auth === undefined ? 'it has no mxtok_auth' : sessionProblem(name, entry)
  if (problem !== undefined) return {kind: 'damaged', problem}
  return {kind: 'session', session: sessionFromEntry(name, entry), secret: secretOf(data)}
}

/** Who made the session, as `kept` (what its secret held) says, while it is the same session. */
export const keptAuthor = (session: Session, kept: Fields | undefined): string | undefined =>
  kept?.mxtok_created_at === session.createdAt && typeof kept?.mxtok_created_by === 'string' ? kept.mxtok_created_by : undefined

/**
 * Who makes a session, as mxtok_created_by says it: the engine's name for the token (with the
 * AppRole's role, which its display name leaves out), and the operator's machine.
 */
export function authorName(token: {displayName: string; meta: Record<string, string>}, machine: string): string {
  const role = token.meta.role_name
  const engine = role && !token.displayName.includes(role) ? `${token.displayName}-${role}` : token.displayName
  return `${engine || 'token'} (${machine})`
}

/**
 * A session's secret: its record and its token (null: none kept), over what `kept` held besides
 * mxtok's own fields. `createdBy` names who made it, unless `kept` is of the same session (keptAuthor).
 */
export function sessionFields(session: Session, secret: string | null, kept: Fields | undefined, createdBy: string): Record<string, unknown> {
  const others: Fields = {...kept}
  for (const field of SESSION_FIELDS) delete others[field]
  const fields: Fields = {
    ...others,
    ...(secret === null ? {} : tokenFields(secret)),
    user_id: session.userId,
    device_id: session.auth === 'admin' ? '' : session.deviceId,
    homeserver: session.homeserver,
    mxtok_layout: TEAM_LAYOUT,
    mxtok_auth: session.auth,
    mxtok_created_at: session.createdAt,
    mxtok_created_by: keptAuthor(session, kept) ?? createdBy,
  }
  if (session.expiresAt !== undefined) fields.mxtok_expires_at = session.expiresAt
  switch (session.auth) {
    case 'oauth':
    case 'client': {
      const {issuer, clientId, tokenEndpoint, revocationEndpoint, admin} = session.oauth
      Object.assign(fields, {mxtok_oauth_issuer: issuer, mxtok_oauth_client_id: clientId, mxtok_oauth_token_endpoint: tokenEndpoint})
      if (revocationEndpoint !== undefined) fields.mxtok_oauth_revocation_endpoint = revocationEndpoint
      if (admin) fields.mxtok_oauth_admin = 'true'
      break
    }
    case 'admin':
      Object.assign(fields, {mxtok_admin_by: session.admin.by, mxtok_admin_key: session.deviceId})
      break
    case 'personal':
      Object.assign(fields, {mxtok_personal_id: session.personal.id, mxtok_personal_admin: session.personal.admin})
      break
    case 'password':
      break
    default:
      assertNever(session, 'kind of session')
  }
  return fields
}

/** Fields of the token, which the record's copy in custom_metadata leaves out. */
const TOKEN_FIELDS = new Set(['access_token', 'mxtok_refresh_token', 'mxtok_client_secret', 'mxtok_access_expires_at', 'mxtok_claim'])

/**
 * The record of a session's secret at `version`, without its token, as custom_metadata that a
 * detailed list returns for every session in one call: `list` reads it instead of each secret
 * while mxtok_of_version is still the secret's current version (it is written after the data, not
 * with it, so another version means it may be stale and the secret itself is read).
 */
export function recordCopy(fields: Record<string, unknown>, version: number): Record<string, string> {
  const copy: Record<string, string> = {mxtok_of_version: String(version)}
  for (const field of SESSION_FIELDS) {
    if (!TOKEN_FIELDS.has(field) && typeof fields[field] === 'string') copy[field] = fields[field] as string
  }
  return copy
}

/**
 * What a removal writes over a session before it deletes the key: nothing of it, and, while the
 * removal runs, its claim on the name (`UNTIL BY`, as a refresh's), which writers of that name wait for.
 */
export const deletedFields = (at: string, claim?: string): Record<string, unknown> => ({
  mxtok_layout: TEAM_LAYOUT,
  mxtok_deleted_at: at,
  ...(claim === undefined ? {} : {mxtok_claim: claim}),
})

/**
 * A secret as the token fields: a bare token is access_token; a token pair (src/core/session-secret.ts,
 * always JSON {access_token, refresh_token, expires_at}) spreads over access_token,
 * mxtok_refresh_token and mxtok_access_expires_at, so that a bot reads access_token alone whatever the kind.
 */
export function tokenFields(secret: string): Record<string, string> {
  if (secret.startsWith('{')) {
    const pair = parsePair(secret)
    if (pair) {
      const fields: Record<string, string> =
        'refresh_token' in pair
          ? {access_token: pair.access_token, mxtok_refresh_token: pair.refresh_token}
          : {access_token: pair.access_token, mxtok_client_secret: pair.client_secret}
      if (pair.expires_at !== null) fields.mxtok_access_expires_at = pair.expires_at
      return fields
    }
  }
  // Whatever else it is (a damaged pair too) is kept as it came, for mxtok to judge when it reads it.
  return {access_token: secret}
}

/** The secret as the other stores keep it, from the fields; null when there is no access_token. */
export function secretOf(data: Fields): string | null {
  if (typeof data.access_token !== 'string' || data.access_token === '') return null
  const expiresAt = typeof data.mxtok_access_expires_at === 'string' && data.mxtok_access_expires_at !== '' ? data.mxtok_access_expires_at : null
  if (typeof data.mxtok_client_secret === 'string')
    return JSON.stringify({access_token: data.access_token, client_secret: data.mxtok_client_secret, expires_at: expiresAt})
  if (typeof data.mxtok_refresh_token !== 'string') return data.access_token
  return JSON.stringify({access_token: data.access_token, refresh_token: data.mxtok_refresh_token, expires_at: expiresAt})
}

type Pair = {access_token: string; expires_at: string | null} & ({refresh_token: string} | {client_secret: string})

/** A token pair, or an admin client's token with its secret (src/core/session-secret.ts), in the very order mxtok writes it. */
function parsePair(secret: string): Pair | undefined {
  let value: Fields
  try {
    value = JSON.parse(secret)
  } catch {
    return undefined
  }
  const {access_token, refresh_token, client_secret, expires_at} = value ?? {}
  if (typeof access_token !== 'string' || (expires_at !== null && typeof expires_at !== 'string')) return undefined
  let pair: Pair
  if (typeof refresh_token === 'string') pair = {access_token, refresh_token, expires_at}
  else if (typeof client_secret === 'string') pair = {access_token, client_secret, expires_at}
  else return undefined
  // Only what reads back as the very same text: a move compares the copy with the original.
  return JSON.stringify(pair) === secret ? pair : undefined
}

/**
 * A login under way, as the journal keeps it: the fields of sessions.json's pending entry, as JSON
 * in mxtok_pending (it is mxtok's alone), and in the fields a person reads who and where, and which
 * run holds it until when (mxtok_by, mxtok_until: none in an older mxtok's entry). mxtok reads
 * mxtok_pending alone.
 */
export const pendingFields = (p: PendingLogin): Record<string, unknown> => ({
  mxtok_layout: TEAM_LAYOUT,
  user_id: p.userId,
  device_id: p.deviceId,
  homeserver: p.homeserver,
  ...(p.until === undefined ? {} : {mxtok_by: `${p.by} pid ${p.pid}`, mxtok_until: p.until}),
  mxtok_pending: JSON.stringify(pendingEntry(p)),
})

export function readPendingFields(data: Fields): PendingLogin | {problem: string} {
  let entry: unknown
  try {
    entry = typeof data.mxtok_pending === 'string' ? JSON.parse(data.mxtok_pending) : undefined
  } catch {
    entry = undefined
  }
  const problem = data.mxtok_layout !== TEAM_LAYOUT ? `its mxtok_layout is not "${TEAM_LAYOUT}"` : pendingProblem(entry)
  return problem === undefined ? pendingFromEntry(entry as Fields) : {problem}
}

/** A pending login's key: its account (USER_ID/DEVICE_ID) as one path segment. */
export const pendingKey = (account: string) => Buffer.from(account).toString('base64url')

/** The record of a session, as compared to tell whether an update changed it. */
export const recordOf = (session: Session) => JSON.stringify(sessionEntry(session))
