import {MxtokError, usageError} from '../errors.js'
import {MatrixError, withContext} from '../matrix/errors.js'
import {isEndedSession} from '../matrix/oauth-client.js'
import {masAdminFields, type OAuthGrant, oauthGrant, type PendingPasswordLogin, type Session, tokenOwner} from '../registry/session.js'
import {secretAccount} from '../store/secret-store.js'
import {storeLabel} from '../store/store-kinds.js'
import {createAgainCommand} from './create-advice.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readSecret} from './find-session.js'
import {logoutToken, PERSONAL_REMEDY, TokenNotEnded} from './logout-token.js'
import {isPersonalToken, masAdminAccess, masAdminRefusal, personalSessionOnDevice, revokePersonal} from './personal-token.js'
import type {StoredSecret} from './session-secret.js'

export interface RevokeResult {
  name: string
  /** null for an admin client's session, whose token is no user's and on no device. */
  userId: string | null
  deviceId: string | null
  homeserver: string
  /** True when the server confirmed the token is dead (now, or already before). */
  revokedOnServer: boolean
  /** An admin client's session: the client, whose own credentials revoked its token. */
  clientId?: string
}

/**
 * Logs the session's token out on the server (which deletes its device), or for an OAuth session
 * revokes its tokens (RFC 7009), then forgets it locally. Nothing local is removed unless the server
 * confirmed, so a failed revoke can simply be retried.
 */
export async function revokeSession(opts: {name: string; localOnly?: boolean; as?: string}, deps: Deps): Promise<RevokeResult> {
  const session = await findSession(opts.name, deps)
  let revokedOnServer = false
  let cleared: PendingPasswordLogin | undefined
  if (!opts.localOnly) {
    const secret = await readSecret(session, deps)
    if (secret === null) throw missingToken(session)
    const interrupted = await interruptedCreate(session, deps)
    if (interrupted) {
      await logoutWholeDevice(session, secret, interrupted, deps)
      cleared = interrupted
    } else {
      await endAcceptingDead(session, secret, deps, opts.as)
    }
    revokedOnServer = true
  }
  await forget(session, deps, cleared)
  const {clientId} = masAdminFields(session)
  return {name: session.name, ...tokenOwner(session), homeserver: session.homeserver, revokedOnServer, ...(clientId === undefined ? {} : {clientId})}
}

/** A session replaced by one on another device: its token must die, not linger with nobody holding it. */
export async function retireReplaced(previous: Session, deps: Deps): Promise<void> {
  try {
    const secret = await readSecret(previous, deps)
    if (secret !== null) await endAcceptingDead(previous, secret, deps)
    await deps.store(previous.store).delete(secretAccount(previous.userId, previous.deviceId))
  } catch (error) {
    deps.warn(
      `the replaced session's device ${previous.deviceId} could not be logged out (${(error as Error).message}); its token stays in the ${storeLabel(previous.store)} until it can be`,
    )
  }
}

/**
 * Ends a token pair on the server, a token proven dead counting as ended: POST /logout (see
 * logoutToken for what proves a token dead), or for an OAuth grant RFC 7009 revocation of the
 * refresh token, then of the access token. MAS ends the whole session at either, and its device
 * goes once no other session holds it; /logout would not do: MAS answers it M_UNKNOWN_TOKEN for any
 * token that is not a password login's.
 */
export async function endTokens(homeserver: string, grant: OAuthGrant | undefined, secret: StoredSecret, deps: Deps): Promise<void> {
  if (!grant) return logoutToken(homeserver, secret.accessToken, deps)
  if (!grant.revocationEndpoint) {
    throw new MxtokError(
      'homeserver',
      `${new URL(grant.issuer).host} offers no token revocation (RFC 7009), so mxtok cannot end this session itself; end it in your account's list of sessions`,
    )
  }
  const oauth = deps.oauth(homeserver)
  // An admin client authenticates its revocation with its own secret; mxtok's public client names itself.
  const client = secret.clientSecret === null ? grant.clientId : {id: grant.clientId, secret: secret.clientSecret}
  try {
    if (secret.refreshToken !== null) await oauth.revokeToken(grant.revocationEndpoint, client, secret.refreshToken, 'refresh_token')
    await oauth.revokeToken(grant.revocationEndpoint, client, secret.accessToken, 'access_token')
  } catch (error) {
    // The issuer no longer knows mxtok's public client: no token issued to it works any more. An
    // admin client refused is no such proof: its secret may have been changed, its tokens alive.
    if (!isEndedSession(error) || secret.clientSecret !== null) throw error
  }
}

/** `as`: an admin session of MAS, for a personal token. */
async function endAcceptingDead(session: Session, secret: StoredSecret, deps: Deps, as?: string): Promise<void> {
  if (session.auth === 'personal') return endPersonalToken(session, as ?? session.personal.admin, as === undefined, deps)
  if (as !== undefined) {
    if (!isPersonalToken(secret.accessToken))
      throw usageError(`--as is for personal tokens of a Matrix Authentication Service, and session "${session.name}" holds none; revoke it without --as`)
    return endPersonalToken(session, as, false, deps)
  }
  try {
    await endTokens(session.homeserver, oauthGrant(session), secret, deps)
  } catch (error) {
    throw keptAfter(session, error)
  }
}

/**
 * A personal token of MAS, made here or imported, is revoked through MAS's admin API with the admin
 * session `adminName` (--as, else the one that made it): an imported one's personal session is the
 * live one holding its device. Without an admin session (`maker`: the one that made it, which may
 * be gone) the token cannot be ended, and the session is kept.
 */
async function endPersonalToken(session: Session, adminName: string, maker: boolean, deps: Deps): Promise<void> {
  try {
    if (maker && !(await deps.registry.get(adminName))) {
      throw new TokenNotEnded(`only MAS's admin API ends a personal token, and session "${adminName}" that made it is gone`, PERSONAL_REMEDY)
    }
    const {admin, mas, issuer} = await masAdminAccess(adminName, session.homeserver, deps)
    try {
      const id = session.auth === 'personal' ? session.personal.id : (await personalSessionOnDevice(mas, session))?.id
      if (id !== undefined) await revokePersonal(mas, id)
    } catch (error) {
      throw masAdminRefusal(error, admin, issuer, 'revoke personal tokens')
    }
  } catch (error) {
    throw keptAfter(session, error)
  }
}

/** A revoke that failed on the server keeps the session: the error says so, and what to do. */
function keptAfter(session: Session, error: unknown): unknown {
  if (error instanceof TokenNotEnded && error.remedy === PERSONAL_REMEDY) {
    return error.withContext(
      `; session "${session.name}" was kept: run "mxtok revoke ${session.name} --as ADMIN" with an admin session of MAS (made with "mxtok create ADMIN --user @you:server --oauth --admin"), or revoke the token in MAS's admin API and then run "mxtok revoke ${session.name} --local-only"`,
    )
  }
  if (error instanceof TokenNotEnded) {
    return error.withContext(`; session "${session.name}" was kept: ${error.remedy}, then run "mxtok revoke ${session.name} --local-only"`)
  }
  const kept = `session "${session.name}" was kept — try again, or use --local-only to forget it while its token may still work`
  return withContext(error, `; ${kept}`)
}

/** A password create of this session's device that never finished: its journal entry, if one was left. */
async function interruptedCreate(session: Session, deps: Deps): Promise<PendingPasswordLogin | undefined> {
  // A device grant's session is on a device no password login journals, and an admin login's on none.
  if (session.auth !== 'password') return undefined
  const account = secretAccount(session.userId, session.deviceId)
  return (await deps.registry.pending()).find((p): p is PendingPasswordLogin => p.auth === 'password' && secretAccount(p.userId, p.deviceId) === account)
}

/**
 * After an interrupted create the device may hold a token nobody has. /logout with the stored
 * token deletes the device with every token on it; a dead stored token cannot, and then the device
 * is not clear, so this is no revoke: creating the session again resets the device first.
 */
async function logoutWholeDevice(session: Session, secret: StoredSecret, interrupted: PendingPasswordLogin, deps: Deps): Promise<void> {
  try {
    await deps.client(session.homeserver).logout(secret.accessToken)
  } catch (error) {
    if (!(error instanceof MatrixError && error.errcode === 'M_UNKNOWN_TOKEN')) throw keptAfter(session, error)
    const again = createAgainCommand({...interrupted, name: session.name})
    throw new MxtokError(
      'tokenInvalid',
      `the token of session "${session.name}" is dead and device ${session.deviceId} may still hold one that an interrupted create left, which mxtok cannot log out; run "${again}" again, then revoke`,
      {cause: error},
    )
  }
}

async function forget(session: Session, deps: Deps, cleared?: PendingPasswordLogin): Promise<void> {
  const account = secretAccount(session.userId, session.deviceId)
  // Under the registry lock, so that the store and the registry change together for other runs.
  await deps.registry.update(
    async (sessions, pending) => {
      // The device went with every token on it, whatever that create left; a newer entry is a create under way.
      if (cleared && pending.get(account)?.since === cleared.since) pending.delete(account)
      const current = sessions.get(session.name)
      // A create that ran meanwhile may have put a new session under this name: keep that one.
      if (!current || current.createdAt !== session.createdAt || secretAccount(current.userId, current.deviceId) !== account) return
      await deps.store(session.store).delete(account)
      sessions.delete(session.name)
    },
    {sessions: [session.name]},
  )
}
