import {MxtokError, usageError} from '../errors.js'
import {MatrixError} from '../matrix/errors.js'
import {parseLocalpart, parseUserId, type UserId} from '../matrix/user-id.js'
import {type Session, tokenOwner} from '../registry/session.js'

/**
 * Synapse's admin API refusing, and a server without it (Dendrite, Conduit), as one line each;
 * `what` finishes "so it cannot …". Anything else is passed on as it is.
 */
export function adminApiRefusal(error: unknown, admin: Session, user: UserId, host: string, what: string): unknown {
  if (!(error instanceof MatrixError) || error.isLocal) return error
  if (error.errcode === 'M_FORBIDDEN') {
    return new MxtokError(
      'loginRefused',
      `${host} refused the admin request: ${admin.userId} (session "${admin.name}") is not a server admin; use a session of an admin account`,
      {cause: error},
    )
  }
  if (error.errcode === 'M_NOT_FOUND' && error.status === 404) {
    return new MxtokError('usage', `${host} has no user ${user.full}; check the user ID`, {cause: error})
  }
  if (error.status === 404 || error.status === 405 || error.errcode === 'M_UNRECOGNIZED') {
    return new MxtokError(
      'homeserver',
      `${host} has no Synapse admin API (/_synapse/admin/…), so it cannot ${what}; use the password of ${user.full} instead`,
      {cause: error},
    )
  }
  return error
}

/**
 * The user an admin session acts on: a localpart is completed with the admin's server name, and a
 * user of another server refused, since a server's admin API reaches only its own users.
 */
export function adminTarget(admin: Session, user: string): UserId {
  const owner = tokenOwner(admin).userId
  // An admin client's token is no user's, so no server name comes with it: the user is named in full.
  if (owner === null) {
    if (!user.startsWith('@')) throw usageError(`"${admin.name}" is an admin client, of no server name: write --user in full, @${user}:your.server`)
    return parseUserId(user)
  }
  const server = parseUserId(owner).serverName
  const target = user.startsWith('@') ? parseUserId(user) : parseUserId(`@${parseLocalpart(user)}:${server}`)
  if (target.serverName !== server)
    throw usageError(`${target.full} is not on ${server}, the server of "${admin.name}"; an admin reaches only users of its own server`)
  return target
}
