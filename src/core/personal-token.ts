import {MxtokError} from '../errors.js'
import {JSON_API_ERROR, MatrixError} from '../matrix/errors.js'
import type {MasAdminClient, MasPersonalSession} from '../matrix/mas-admin-client.js'
import {parseUserId, type UserId} from '../matrix/user-id.js'
import type {Session} from '../registry/session.js'
import {authIssuer} from './auth-issuer.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readToken} from './find-session.js'

/** Personal access tokens of a Matrix Authentication Service (MAS) start so; MAS's /logout cannot end them. */
export const isPersonalToken = (token: string) => token.startsWith('mpt_')

/** The scope of a bot's personal token: the whole client API, on its device (MAS wants device IDs of 10+ characters; mxtok's have 15). */
export const personalScope = (deviceId: string) => ['urn:matrix:client:api:*', `urn:matrix:client:device:${deviceId}`]

/** An admin session's client of MAS's admin API, for the homeserver `homeserver`. */
export interface MasAdminAccess {
  admin: Session
  mas: MasAdminClient
  issuer: string
}

/**
 * The admin API of the homeserver's MAS, reached with the token of session `adminName`: any
 * session whose token MAS's admin API accepts (an admin user's --oauth --admin session, an
 * operator's client). Throws when the homeserver has no authentication service at all.
 */
export async function masAdminAccess(adminName: string, homeserver: string, deps: Deps): Promise<MasAdminAccess> {
  const admin = await findSession(adminName, deps)
  const token = await readToken(admin, deps)
  if (token === null) throw missingToken(admin)
  const issuer = await authIssuer(homeserver, deps)
  if (issuer === null) {
    throw new MxtokError(
      'homeserver',
      `${new URL(homeserver).host} has no Matrix Authentication Service (no next-generation auth), whose admin API personal tokens need`,
    )
  }
  return {admin, mas: deps.masAdmin(issuer, token), issuer}
}

/**
 * MAS's admin API refusing, or missing (its listener not serving adminapi, or no MAS behind the
 * issuer), as one line each; `what` finishes "so it cannot …". Anything else is passed on as it is.
 */
export function masAdminRefusal(error: unknown, admin: Session, issuer: string, what: string, user?: UserId): unknown {
  if (!(error instanceof MatrixError)) return error
  if (error.errcode !== JSON_API_ERROR) return missingAdminApi(error, issuer, what)
  const host = new URL(issuer).host
  if (error.status === 401) {
    return new MxtokError(
      'loginRefused',
      `${host} refused the admin request: the token of session "${admin.name}" does not reach MAS's admin API (${error.message}); use an admin session of MAS, made with "mxtok create NAME --user @admin:server --oauth --admin"`,
      {cause: error},
    )
  }
  if (error.status === 404 && user !== undefined) return new MxtokError('usage', `${host} has no user ${user.full}; check the user ID`, {cause: error})
  return error
}

/** An answer that is no JSON:API error at all (404 from a listener without adminapi, an HTML page): there is no admin API to talk to. */
function missingAdminApi(error: MatrixError, issuer: string, what: string): unknown {
  if (!(error.status === 404 || error.status === 405 || error.errcode === 'M_UNRECOGNIZED')) return error
  return new MxtokError(
    'homeserver',
    `neither Synapse's admin API nor the admin API of a Matrix Authentication Service answers at ${new URL(issuer).host} (HTTP ${error.status}), so mxtok cannot ${what}; use the user's password instead, or ask the operator to serve MAS's admin API (resource "adminapi")`,
    {cause: error},
  )
}

/** Revokes the personal session at MAS; one revoked already (409) counts as ended. */
export async function revokePersonal(mas: MasAdminClient, id: string): Promise<void> {
  try {
    await mas.revokePersonalSession(id)
  } catch (error) {
    if (error instanceof MatrixError && error.errcode === JSON_API_ERROR && error.status === 409) return
    throw error
  }
}

/**
 * The live personal session that holds the session's device, for a personal token imported rather
 * than made here: MAS gives a personal token its device through its scope, and one device is held
 * by one personal session unless made so on purpose. null when none holds it: the token is dead.
 */
export async function personalSessionOnDevice(mas: MasAdminClient, session: Session): Promise<MasPersonalSession | null> {
  const user = parseUserId(session.userId)
  const actor = await mas.userByUsername(user.localpart)
  const device = [`urn:matrix:client:device:${session.deviceId}`, `urn:matrix:org.matrix.msc2967.client:device:${session.deviceId}`]
  const holding = (await mas.activePersonalSessions(actor.id)).filter((p) => p.scope.some((s) => device.includes(s)))
  if (holding.length > 1) {
    throw new MxtokError(
      'tokenInvalid',
      `${holding.length} live personal sessions of ${user.full} hold device ${session.deviceId} at MAS, and mxtok cannot tell which one holds this token; revoke it in MAS's admin API`,
    )
  }
  return holding[0] ?? null
}
