import {assertNever} from '../errors.js'
import type {StoreKind} from '../store/store-kinds.js'
import type {AdminLoginKey, ClientAccount, ClientTokenKey, OAuthGrant, PendingLogin, PendingPersonalLogin, Session} from './session.js'

// Sessions and pending logins as sessions.json (version 1) holds them, which every released mxtok
// reads: a session without "auth" is a password login (or an imported token), one with "auth"
// "oauth" has its grant in "oauth", one with "admin" its maker in "admin", one with "personal" its
// personal session at MAS in "personal", one with "client" (an admin client's) its grant in "oauth"
// and mxtok's own keys in "userId" and "deviceId" (see ClientAccount); a pending login is an admin
// client's with "auth" "client", else an OAuth one with "oauth", an admin one with "admin", a
// personal token's with "personal"; a pending login has its lease in "by", "pid"
// and "until" (those of an older mxtok have none). Fields are written in the order mxtok has
// always written them, so a file read and written back is unchanged. Entries reach here only once
// entry-check.ts has found them usable.

type Entry = Record<string, unknown>

/** A usable session entry (see sessionProblem) as the session it records. */
export function sessionFromEntry(name: string, entry: Entry): Session {
  const base = {
    name,
    userId: entry.userId as string,
    homeserver: entry.homeserver as string,
    deviceId: entry.deviceId as string,
    createdAt: entry.createdAt as string,
    store: entry.store as StoreKind,
    ...(entry.expiresAt === undefined ? {} : {expiresAt: entry.expiresAt as string}),
  }
  if (entry.auth === 'oauth') return {...base, auth: 'oauth', oauth: grantOf(entry.oauth as OAuthGrant)}
  if (entry.auth === 'admin') return {...base, auth: 'admin', deviceId: base.deviceId as AdminLoginKey, admin: {by: (entry.admin as Entry).by as string}}
  if (entry.auth === 'client') return {...base, ...clientKeys(base), auth: 'client', oauth: adminGrantOf(entry.oauth as OAuthGrant)}
  if (entry.auth === 'personal') {
    const {id, admin} = entry.personal as Entry
    return {...base, auth: 'personal', personal: {id: id as string, admin: admin as string}}
  }
  return {...base, auth: 'password'}
}

/** The entry sessions.json keeps for a session, under its name. */
export function sessionEntry(session: Session): Entry {
  const {userId, homeserver, deviceId, createdAt, store} = session
  const expiry = session.expiresAt === undefined ? {} : {expiresAt: session.expiresAt}
  switch (session.auth) {
    case 'password':
      return {userId, homeserver, deviceId, createdAt, store, ...expiry}
    case 'oauth':
      return {userId, homeserver, deviceId, createdAt, store, auth: 'oauth', oauth: grantOf(session.oauth), ...expiry}
    case 'admin':
      return {userId, homeserver, deviceId, createdAt, store, auth: 'admin', admin: {by: session.admin.by}, ...expiry}
    case 'client':
      return {userId, homeserver, deviceId, createdAt, store, auth: 'client', oauth: grantOf(session.oauth), ...expiry}
    case 'personal':
      return {userId, homeserver, deviceId, createdAt, store, auth: 'personal', personal: {id: session.personal.id, admin: session.personal.admin}, ...expiry}
    default:
      return assertNever(session, 'kind of session')
  }
}

/** A usable pending entry (see pendingProblem) as the login it records. */
export function pendingFromEntry(entry: Entry): PendingLogin {
  const base = {
    userId: entry.userId as string,
    deviceId: entry.deviceId as string,
    homeserver: entry.homeserver as string,
    store: entry.store as StoreKind,
    since: entry.since as string,
    ...leaseOf(entry),
  }
  const name = entry.name === undefined ? {} : {name: entry.name as string}
  if (entry.auth === 'client') return {...name, ...base, ...clientKeys(base), auth: 'client', oauth: adminGrantOf(entry.oauth as OAuthGrant)}
  if (entry.oauth !== undefined) return {...base, auth: 'oauth', oauth: grantOf(entry.oauth as OAuthGrant)}
  if (entry.personal !== undefined) return {name: entry.name as string, ...base, auth: 'personal', personal: personalOf(entry.personal as Entry)}
  if (entry.admin !== undefined) {
    const admin = entry.admin as Entry
    return {
      ...name,
      ...base,
      auth: 'admin',
      deviceId: base.deviceId as AdminLoginKey,
      admin: {by: admin.by as string, session: admin.session as string, ...(admin.expiresAt === undefined ? {} : {expiresAt: admin.expiresAt as string})},
    }
  }
  return {...name, ...base, auth: 'password'}
}

/** The entry sessions.json keeps for a pending login, under its secret account. */
export function pendingEntry(p: PendingLogin): Entry {
  const {userId, deviceId, homeserver, store, since} = p
  const lease = leaseOf(p)
  switch (p.auth) {
    case 'password':
      return {...(p.name === undefined ? {} : {name: p.name}), userId, deviceId, homeserver, store, since, ...lease}
    case 'oauth':
      return {userId, deviceId, homeserver, store, since, ...lease, oauth: grantOf(p.oauth)}
    case 'admin': {
      const {by, session, expiresAt} = p.admin
      const admin = {by, session, ...(expiresAt === undefined ? {} : {expiresAt})}
      return {...(p.name === undefined ? {} : {name: p.name}), userId, deviceId, homeserver, store, since, ...lease, admin}
    }
    case 'client':
      return {...(p.name === undefined ? {} : {name: p.name}), userId, deviceId, homeserver, store, since, ...lease, auth: 'client', oauth: grantOf(p.oauth)}
    case 'personal':
      return {name: p.name, userId, deviceId, homeserver, store, since, ...lease, personal: personalOf(p.personal)}
    default:
      return assertNever(p, 'kind of pending login')
  }
}

/** Who holds a pending login and until when, in their order; nothing for an entry of an older mxtok, which had no lease. */
const leaseOf = (entry: {by?: unknown; pid?: unknown; until?: unknown}): {by?: string; pid?: number; until?: string} =>
  entry.until === undefined ? {} : {by: entry.by as string, pid: entry.pid as number, until: entry.until as string}

/** A grant with its fields alone, in their order: the same on disk and in memory. */
const grantOf = ({issuer, clientId, tokenEndpoint, revocationEndpoint, admin}: OAuthGrant): OAuthGrant => ({
  issuer,
  clientId,
  tokenEndpoint,
  ...(revocationEndpoint === undefined ? {} : {revocationEndpoint}),
  ...(admin === true ? {admin} : {}),
})

const clientKeys = (base: {userId: string; deviceId: string}) => ({userId: base.userId as ClientAccount, deviceId: base.deviceId as ClientTokenKey})

/** An admin client's grant, which entry-check.ts has found to have "admin": true. */
const adminGrantOf = (grant: OAuthGrant) => ({...grantOf(grant), admin: true as const})
/** A pending personal token's fields alone, in their order. */
const personalOf = (p: Entry): PendingPersonalLogin['personal'] => {
  const base = {admin: p.admin as string, issuer: p.issuer as string}
  return p.id === undefined ? {...base, humanName: p.humanName as string} : {...base, id: p.id as string}
}
