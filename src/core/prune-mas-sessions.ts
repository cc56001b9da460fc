import {MxtokError} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'
import type {MasAdminClient, MasSession} from '../matrix/mas-admin-client.js'
import {parseUserId, type UserId} from '../matrix/user-id.js'
import type {Session} from '../registry/session.js'
import {adminTarget} from './admin-api.js'
import type {Deps} from './deps.js'
import {findSession, missingToken, readToken} from './find-session.js'
import {revokePersonal} from './personal-token.js'
import {
  type EndOptions,
  endSelected,
  type MasSessionEntry,
  type MasSessionPlan,
  type MasSessionPruneResult,
  ownedDevices,
  type PruneSelectors,
  selectDevices,
} from './prune-selection.js'

/**
 * The admin way on a server behind MAS, where clients cannot delete devices: the user's live
 * compatibility, OAuth 2.0 and personal sessions are listed through MAS's admin API with the token
 * of an admin session (any whose token that API accepts), selected as devices are, and finished or
 * revoked one by one. Sessions on the device of a local session of that user are never selected.
 */
export async function pruneMasSessions(
  opts: PruneSelectors & EndOptions & {user: string; as: string},
  issuer: string,
  deps: Deps,
): Promise<MasSessionPruneResult> {
  const admin = await findSession(opts.as, deps)
  const user = adminTarget(admin, opts.user)
  const token = await readToken(admin, deps)
  if (token === null) throw missingToken(admin)
  const mas = deps.masAdmin(issuer, token)
  const refused = (error: unknown) => masAdminRefusal(error, admin, user, mas.baseUrl.host)
  const sessions = await listSessions(mas, user).catch((error) => {
    throw refused(error)
  })
  const owned = await ownedDevices(await deps.registry.list(), user.full, deps)
  const plan: MasSessionPlan = {
    userId: user.full,
    homeserver: admin.homeserver,
    authServer: mas.baseUrl.href.replace(/\/+$/, ''),
    sessions: selectDevices(sessions.map(entry), owned, opts, deps.now()),
  }
  const {dryRun, done} = await endSelected(
    plan,
    plan.sessions,
    opts,
    {
      // One request a session: the rate-limit waits of the HTTP layer pace them.
      batchSize: 1,
      end: ([session]) =>
        endSession(mas, session).catch((error) => {
          throw refused(error)
        }),
      id: (s) => s.id,
      noun: 'sessions',
      verb: 'ended',
    },
    deps,
  )
  return {...plan, dryRun, ended: done}
}

async function listSessions(mas: MasAdminClient, user: UserId): Promise<MasSession[]> {
  const {id} = await mas.userByUsername(user.localpart)
  const kinds = await Promise.all([mas.activeCompatSessions(id), mas.activeOAuth2Sessions(id), mas.activePersonalSessions(id)])
  return kinds.flat()
}

function endSession(mas: MasAdminClient, session: MasSessionEntry): Promise<void> {
  switch (session.kind) {
    case 'compat':
      return mas.finishCompatSession(session.id)
    case 'oauth2':
      return mas.finishOAuth2Session(session.id)
    case 'personal':
      return revokePersonal(mas, session.id)
  }
}

function entry(s: MasSession): MasSessionEntry {
  const ts = s.lastActiveAt === null ? Number.NaN : Date.parse(s.lastActiveAt)
  return {kind: s.kind, id: s.id, deviceId: s.deviceId, displayName: s.name, lastSeenIp: s.lastActiveIp, lastSeenTs: Number.isFinite(ts) ? ts : null}
}

/** MAS's admin API refusing the session's token, or not knowing the user, as one line each; anything else as it is. */
function masAdminRefusal(error: unknown, admin: Session, user: UserId, host: string): unknown {
  // By the status alone: an answer that is not JSON:API (a proxy's page) is judged by it all the same.
  if (!(error instanceof MatrixError) || error.status === 0) return error
  if (error.status === 401 || error.status === 403) {
    const server = parseUserId(admin.userId).serverName
    return new MxtokError(
      'loginRefused',
      `${host} refused the token of session "${admin.name}" for its admin API (HTTP ${error.status}); use an admin session, made with "mxtok create ADMIN --user @admin:${server} --oauth --admin" by a user who may ask for admin`,
      {cause: error},
    )
  }
  if (error.status === 404 && error.body?.errors !== undefined && /\bnot found\b/i.test(error.message) && /\buser/i.test(error.message)) {
    return new MxtokError('usage', `${host} has no user ${user.localpart}; check the user ID`, {cause: error})
  }
  if (error.status === 404 && error.body?.errors === undefined) {
    return new MxtokError(
      'homeserver',
      `${host} serves no admin API at /api/admin/v1 (HTTP 404); MAS serves it when its http listener has the "adminapi" resource`,
      {cause: error},
    )
  }
  return error
}
