import {deriveDeviceId} from '../matrix/device-id.js'
import type {IssuedPersonalToken, MasUser} from '../matrix/mas-admin-client.js'
import type {UserId} from '../matrix/user-id.js'
import {oauthGrant, type Session} from '../registry/session.js'
import type {SecretStore} from '../store/secret-store.js'
import type {Deps} from './deps.js'
import {journalledLogin, madeNothing} from './journalled-login.js'
import {masAdminRefusal, personalScope, revokePersonal} from './personal-token.js'
import {endTokens} from './revoke-session.js'
import {decodeSecret} from './session-secret.js'

export interface PersonalTokenPlan {
  name: string
  user: UserId
  admin: Session
  adminToken: string
  /** The MAS whose admin API makes the token. */
  issuer: string
  /** Undefined: a token that never expires. */
  lifetimeMs: number | undefined
  store: SecretStore
}

/**
 * create --as on a server behind a Matrix Authentication Service: a personal access token for the
 * user, made through MAS's admin API, on the session's derived device (its scope gives it one),
 * with the expiry asked. Journalled like any login: the personal session gets a name unique to this
 * create, by which `mxtok doctor --fix` finds and revokes it if the run is killed with it unkept.
 */
export async function createPersonalToken(plan: PersonalTokenPlan, deps: Deps): Promise<Session> {
  const {name, user, admin, issuer, store} = plan
  const mas = deps.masAdmin(issuer, plan.adminToken)
  const what = 'make personal tokens'
  let actor: MasUser
  try {
    actor = await mas.userByUsername(user.localpart)
  } catch (error) {
    throw masAdminRefusal(error, admin, issuer, what, user)
  }
  const deviceId = deriveDeviceId(user.full, name)
  const createdAt = deps.now()
  const expiresInS = plan.lifetimeMs === undefined ? undefined : Math.ceil(plan.lifetimeMs / 1000)
  // Shown in MAS's lists; the time makes it this create's alone, for doctor to find.
  const humanName = `mxtok: ${name} (${createdAt.toISOString()})`

  return journalledLogin<IssuedPersonalToken>(
    {
      name,
      homeserver: admin.homeserver,
      store,
      target: {who: user.full, deviceId},
      takes: {requests: 1},
      kind: {auth: 'personal', personal: {admin: admin.name, issuer, humanName}},
      async obtain(run) {
        let issued: IssuedPersonalToken
        try {
          issued = await run.request(
            () => mas.createPersonalSession({actorUserId: actor.id, humanName, scope: personalScope(deviceId), expiresInS}),
            madeNothing,
          )
        } catch (error) {
          throw masAdminRefusal(error, admin, issuer, what, user)
        }
        run.hold(issued)
        // MAS's own expiry of the token where it gives one: the one that counts.
        const expiresAt = issued.session.expiresAt ?? (expiresInS === undefined ? undefined : new Date(createdAt.getTime() + expiresInS * 1000).toISOString())
        const session: Session = {
          name,
          userId: user.full,
          homeserver: admin.homeserver,
          deviceId,
          createdAt: createdAt.toISOString(),
          store: store.kind,
          auth: 'personal',
          personal: {id: issued.session.id, admin: admin.name},
          ...(expiresAt === undefined ? {} : {expiresAt: new Date(expiresAt).toISOString()}),
        }
        return {session, secret: issued.token}
      },
      end: (issued) => revokePersonal(mas, issued.session.id),
      endFailed: (message) => `could not revoke a personal token that mxtok could not keep (${message})`,
      stranded: () =>
        `a personal token of ${user.full} on device ${deviceId} may exist that nobody holds; "mxtok doctor --fix" revokes it with session "${admin.name}"`,
      // The session this one replaces under the same name held the same device: its token must die too.
      async sameDevice(old, oldSecret) {
        try {
          if (old.auth === 'personal') await revokePersonal(mas, old.personal.id)
          else if (oldSecret !== null) await endTokens(old.homeserver, oauthGrant(old), decodeSecret(oldSecret, `session "${old.name}"`), deps)
        } catch (error) {
          deps.warn(`the replaced token of "${name}" could not be ended (${(error as Error).message}); it may still work`)
        }
      },
    },
    deps,
  )
}
