import type {LoginResult} from '../matrix/client.js'
import {deriveDeviceId} from '../matrix/device-id.js'
import {LocalErrcode, MatrixError} from '../matrix/errors.js'
import {homeserverKey} from '../matrix/homeserver-url.js'
import {parseAnsweredUserId, type UserId} from '../matrix/user-id.js'
import type {Session} from '../registry/session.js'
import {type SecretStore, secretAccount} from '../store/secret-store.js'
import {createAgainCommand} from './create-advice.js'
import type {Deps} from './deps.js'
import {journalledLogin, type LoginRun, type LoginTarget, madeNothing} from './journalled-login.js'
import {loginOrExplain} from './login.js'
import {loginLeavesOnlyItsToken} from './one-token-devices.js'
import {probeDeviceId} from './probe-device.js'
import {encodeTokenPair} from './session-secret.js'

export interface PasswordCreateOptions {
  name: string
  /** The full user ID when given; else the localpart, which the first login completes. */
  user: UserId | string
  homeserver: URL
  store: SecretStore
  password: string
  deviceId?: string
  deviceName?: string
  /** What the server says it runs (MatrixClient.serverSoftware), asked beside earlier requests. */
  serverSoftware?: string | null
}

/**
 * Logs in twice with the session's device ID and keeps the second token. Synapse keeps old tokens
 * of a reused device alive (element-hq/synapse#6616), so the first login's token logs the device
 * out — which deletes the device with every token on it, whoever holds them — and the second login
 * creates it afresh: its token is then the only live one on that device. Where the login itself
 * ends the device's older tokens (one-token-devices.ts: MAS, Dendrite), the first login's token is
 * kept. Given a bare localpart without a chosen device ID, a login on a probe device first learns
 * the full user ID the device ID is derived from.
 */
export async function createPasswordSession(opts: PasswordCreateOptions, deps: Deps): Promise<Session> {
  const {name, homeserver, store, password} = opts
  const client = deps.client(homeserver)
  const hsKey = homeserverKey(homeserver)
  const sessionTarget = (u: UserId): LoginTarget => ({who: u.full, deviceId: opts.deviceId ?? deriveDeviceId(u.full, name)})
  const given = typeof opts.user === 'string' ? undefined : opts.user
  const localpart = typeof opts.user === 'string' ? opts.user : opts.user.localpart
  const probe = !given && opts.deviceId === undefined
  let target: LoginTarget = given ? sessionTarget(given) : {who: localpart, deviceId: opts.deviceId ?? probeDeviceId(localpart, hsKey, name)}

  const logout = async (run: LoginRun<string>, token: string) => {
    await client.logout(token)
    run.hold(undefined)
  }
  // Set once a login answer says its token expires: the server expires every token, so the kept
  // one must come with a refresh token, or the session dies within minutes.
  let expiring = false
  const login = async (run: LoginRun<string>, t: LoginTarget, temporary = false) => {
    const displayName = temporary ? 'mxtok create (temporary)' : (opts.deviceName ?? `mxtok: ${name}`)
    const refreshToken = expiring && !temporary
    const result = await run.request(() => loginOrExplain(client, {user: t.who, password, deviceId: t.deviceId, displayName, refreshToken}), madeNothing)
    if (result.expiresInMs !== null) expiring = true
    run.hold(result.accessToken)
    if (result.badLifetime) {
      await logout(run, result.accessToken).catch(() => {})
      throw result.badLifetime.withContext(' (the new token was logged out)')
    }
    if (result.deviceId !== t.deviceId) {
      // If this logout fails, the token stays held and the clean-up tries once more.
      await logout(run, result.accessToken).catch(() => {})
      throw wrongAnswer(
        homeserver,
        `logged in to device ${result.deviceId} instead of the requested ${t.deviceId}; the server ignores requested device IDs, so mxtok cannot manage this session (the new token was logged out)`,
      )
    }
    const user = parseAnsweredUserId(result.userId, homeserver, 'the login')
    if (t.who.startsWith('@') && user.full !== t.who) {
      await logout(run, result.accessToken).catch(() => {})
      throw wrongAnswer(homeserver, `logged in as ${user.full} instead of ${t.who} (the new token was logged out)`)
    }
    return {token: result.accessToken, user, result}
  }

  const kept = (token: string, result: LoginResult, userId: string, deviceId: string) => {
    const now = deps.now()
    const session: Session = {name, userId, homeserver: hsKey, deviceId, createdAt: now.toISOString(), store: store.kind, auth: 'password'}
    const {refreshToken, expiresInMs} = result
    // Renewable: kept as a pair, refreshed when due like an OAuth session's.
    if (refreshToken !== null)
      return {session, secret: encodeTokenPair({accessToken: token, refreshToken, expiresInS: expiresInMs === null ? null : expiresInMs / 1000}, now)}
    // A server that expires the token and gives no refresh token: the session's end is known.
    if (expiresInMs !== null) session.expiresAt = new Date(now.getTime() + expiresInMs).toISOString()
    return {session, secret: token}
  }

  return journalledLogin<string>(
    {
      name,
      homeserver: hsKey,
      store,
      target,
      probe,
      // Login, logout, login; a move to the session's device from a probe's journals it anew.
      takes: {requests: 3},
      kind: {auth: 'password'},
      async obtain(run) {
        let first = await login(run, target, probe)
        const user = first.user
        // Logged in by localpart: the journal and the logins from here on name the account as the server does.
        if (target.who !== user.full) {
          const wanted = sessionTarget(user)
          if (probe) {
            // The probe did its job: its device goes, and the session's device is logged in to afresh.
            await logout(run, first.token)
            await run.moveTo(wanted)
            target = wanted
            first = await login(run, target)
          } else {
            await run.moveTo(wanted)
            target = wanted
          }
        }
        const deviceId = target.deviceId
        // Remaking a session on its own device: the reset ends its stored token too.
        const remade = (await deps.registry.list()).find((s) => s.name === name && secretAccount(s.userId, s.deviceId) === secretAccount(user.full, deviceId))
        const lostAdvice = (how: string) =>
          `. Session "${name}" has no live token now: device ${deviceId} was ${how}, which ended its old token, and no new one was made; run "${createAgainCommand({name, userId: user.full, deviceId, homeserver: hsKey, store: store.kind})}" to finish ("mxtok doctor" lists it meanwhile)`
        // A token that expires without a refresh token is not kept: the login again asks for one.
        if (first.result.expiresInMs === null && loginLeavesOnlyItsToken(first.token, opts.serverSoftware ?? null)) {
          if (remade) run.lost(remade, lostAdvice('logged in to again'))
          return kept(first.token, first.result, user.full, deviceId)
        }
        await logout(run, first.token).catch((error) => {
          throw error instanceof MatrixError ? error.withContext(` (while resetting device ${deviceId}: run create again to finish)`) : error
        })
        if (remade) run.lost(remade, lostAdvice('reset'))
        const fresh = await login(run, target)
        return kept(fresh.token, fresh.result, user.full, deviceId)
      },
      end: (token) => client.logout(token),
      endFailed: (message) => `could not log out a token that mxtok could not keep (${message})`,
      stranded: (p) =>
        `device ${p.deviceId} of ${p.userId} may hold a token nobody has; run "${createAgainCommand(p)}" again to reset it ("mxtok doctor" lists it meanwhile)`,
    },
    deps,
  )
}

const wrongAnswer = (homeserver: URL, what: string) => new MatrixError({status: 200, errcode: LocalErrcode.badResponse, message: `${homeserver.host} ${what}`})
