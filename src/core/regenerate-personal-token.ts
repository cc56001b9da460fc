import {MxtokError, usageError} from '../errors.js'
import {JSON_API_ERROR, MatrixError} from '../matrix/errors.js'
import type {IssuedPersonalToken} from '../matrix/mas-admin-client.js'
import type {PersonalSession, Session} from '../registry/session.js'
import {adminLifetimeMs} from './create-admin-session.js'
import type {Deps} from './deps.js'
import {journalledLogin, madeNothing} from './journalled-login.js'
import {masAdminAccess, masAdminRefusal} from './personal-token.js'

/**
 * rotate of a personal token of MAS: the personal session is regenerated, which keeps it (its
 * device, with its end-to-end keys) and replaces its token, MAS revoking the old one. Only the
 * admin who made it may (MAS's rule). Journalled: once the request may have reached MAS, the
 * stored token may be dead, and a run that fails from there keeps its entry for `mxtok doctor`
 * and says to rotate again, which ends whatever token the failed run left.
 */
export async function regeneratePersonalToken(session: PersonalSession, opts: {as?: string; expires?: string}, deps: Deps): Promise<Session> {
  const {name} = session
  const lifetimeMs = adminLifetimeMs(opts.expires)
  const expiresInS = lifetimeMs === undefined ? undefined : Math.ceil(lifetimeMs / 1000)
  if (opts.as === undefined && !(await deps.registry.get(session.personal.admin))) {
    throw usageError(
      `session "${name}" was made with session "${session.personal.admin}", which is gone; pass --as with a session of the admin who made it (MAS lets only that admin regenerate it)`,
    )
  }
  const {admin, mas, issuer} = await masAdminAccess(opts.as ?? session.personal.admin, session.homeserver, deps)
  const advice = `; its stored token may be dead: run "mxtok rotate ${name}" again`
  return journalledLogin<IssuedPersonalToken>(
    {
      name,
      homeserver: session.homeserver,
      store: deps.store(session.store),
      target: {who: session.userId, deviceId: session.deviceId},
      takes: {requests: 1},
      kind: {auth: 'personal', personal: {admin: admin.name, issuer, id: session.personal.id}},
      async obtain(run) {
        let issued: IssuedPersonalToken
        try {
          issued = await run.request(() => mas.regeneratePersonalSession(session.personal.id, expiresInS), madeNothing)
        } catch (error) {
          if (!madeNothing(error)) run.lost(session, advice)
          throw regenerateRefusal(error, session, admin, issuer)
        }
        run.lost(session, advice)
        run.hold(issued)
        const createdAt = deps.now()
        const expiresAt = issued.session.expiresAt ?? (expiresInS === undefined ? undefined : new Date(createdAt.getTime() + expiresInS * 1000).toISOString())
        const {expiresAt: _old, ...rest} = session
        const next: Session = {
          ...rest,
          createdAt: createdAt.toISOString(),
          personal: {id: session.personal.id, admin: admin.name},
          ...(expiresAt === undefined ? {} : {expiresAt: new Date(expiresAt).toISOString()}),
        }
        return {session: next, secret: issued.token}
      },
      // The token cannot be ended without the session and its device; the next regeneration ends it,
      // which is what the error says to run (the journal entry stays, as `lost` asks).
      end: async () => {},
      endFailed: (message) => `could not end a regenerated token (${message})`,
      stranded: () => `the personal token of "${name}" may have been regenerated at MAS without mxtok keeping it; run "mxtok rotate ${name}" again`,
    },
    deps,
  )
}

/** Regenerate's own refusals: only the session's owner may, and a revoked session stays revoked. */
function regenerateRefusal(error: unknown, session: PersonalSession, admin: Session, issuer: string): unknown {
  if (!(error instanceof MatrixError && error.errcode === JSON_API_ERROR)) return masAdminRefusal(error, admin, issuer, 'regenerate personal tokens')
  const host = new URL(issuer).host
  if (error.status === 403) {
    return new MxtokError(
      'loginRefused',
      `${host} lets only the admin who made a personal token regenerate it, and session "${admin.name}" is not theirs; rotate with --as a session of that admin, or create "${session.name}" again`,
      {cause: error},
    )
  }
  if (error.status === 404 || error.status === 422) {
    return new MxtokError('tokenInvalid', `the personal session of "${session.name}" was revoked at ${host} (${error.message}); create the session again`, {
      cause: error,
    })
  }
  return masAdminRefusal(error, admin, issuer, 'regenerate personal tokens')
}
