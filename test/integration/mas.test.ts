// The everyday path against the real Matrix Authentication Service (MAS), deployed as MAS is:
// Synapse in its MAS mode behind nginx, which sends login, logout and refresh to MAS; mxtok is
// given nginx's URL. What mxtok claims is checked where the truth is, MAS's admin API: Synapse
// keeps answering for a token that MAS has ended for about two minutes. The file starts what it
// needs itself (the stack and a keyring), and nothing of the global set-up.
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {expectNoSecrets, expectOneLineError} from '../support/cli.js'
import {type MasAccount, masSuite} from '../support/mas-suite.js'
import {botUnderExec, Pinger} from '../support/ping-bot.js'
import {compatSessionOnDevice, issueCompatibilityToken, issuePersonalToken, masAdmin, masSession, masSessions} from '../support/real-mas-client.js'
import {rawWhoami} from '../support/synapse.js'

const mas = masSuite({dirPrefix: 'mxtok-mas-', dirPerTest: true})
const {env, mxtok, token, secrets} = mas

beforeAll(() => {
  const ms = mas.stack.startMs
  const s = (x: number) => `${(x / 1000).toFixed(1)} s`
  process.stderr.write(
    `real MAS stack ready in ${s(ms.total)} (PostgreSQL ${s(ms.postgres)}, then MAS ${s(ms.mas)}; Synapse ${s(ms.synapse)}; nginx ${s(ms.nginx)}): ${mas.stack.provided.baseUrl}\n`,
  )
})

/** MAS's admin API asked with this token: 200 while it works, 401 once MAS has ended it. */
const adminApiWith = (t: string) => fetch(`${mas.stack.provided.masUrl}/api/admin/v1/site-config`, {headers: {authorization: `Bearer ${t}`}})

/** A fresh MAS account for each test, so that no test sees another's sessions. */
const account = () => mas.account('mas')

/** The compatibility session MAS holds for the device: exactly one, finished or not. */
async function compatSession(localpart: string, deviceId: string) {
  const sessions = await compatSessionOnDevice(mas.stack.provided, localpart, deviceId)
  const live = sessions.filter((s) => s.attributes.finished_at === null)
  return {live, all: sessions}
}

describe('password sessions through the proxy, against the real MAS', () => {
  it('create by full ID: listed, verified, its token works, and revoke finishes the session at MAS', async () => {
    const a = await account()
    const device = deriveDeviceId(a.user, 'bot')
    const created = await mxtok(
      ['create', 'bot', '--user', a.user, '--homeserver', mas.stack.provided.baseUrl, '--password-stdin', '--json'],
      {},
      `${a.password}\n`,
    )
    expect(created.code, created.stderr).toBe(0)
    expect(JSON.parse(created.stdout)).toMatchObject({name: 'bot', userId: a.user, deviceId: device})
    const t = await token('bot')
    expect(t).toMatch(/^mct_/)
    // Logging in to the device again ends the session that the first login made: one is left.
    expect((await compatSession(a.localpart, device)).live).toHaveLength(1)

    const listed = await mxtok(['list', '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(JSON.stringify(JSON.parse(listed.stdout))).toContain(device)
    const verified = await mxtok(['verify', 'bot'])
    expect(verified.code, verified.stderr).toBe(0)

    const revoked = await mxtok(['revoke', 'bot'])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(revoked.stdout).toContain('logged out and forgotten')
    const after = await compatSession(a.localpart, device)
    expect(after.live).toEqual([])
    expect(after.all.every((s) => typeof s.attributes.finished_at === 'string')).toBe(true)
  })

  it("rename sets the device's display name that other clients of the account see, through the proxy", async () => {
    const a = await account()
    const device = deriveDeviceId(a.user, 'bot')
    const created = await mxtok(['create', 'bot', '--user', a.user, '--homeserver', mas.stack.provided.baseUrl, '--password-stdin'], {}, `${a.password}\n`)
    expect(created.code, created.stderr).toBe(0)
    const renamed = await mxtok(['rename', 'bot', '--device-name', 'reminder bot (prod)', '--json'])
    expect(renamed.code, renamed.stderr).toBe(0)
    expect(JSON.parse(renamed.stdout)).toEqual({name: 'bot', userId: a.user, deviceId: device, displayName: 'reminder bot (prod)'})
    // The device list as another client of the account reads it: a login of its own, by curl's means.
    const other = await issueCompatibilityToken(mas.stack.provided, a.localpart, 'OTHERCLIENT')
    secrets.add(other)
    const res = await fetch(`${mas.stack.provided.baseUrl}/_matrix/client/v3/devices`, {headers: {authorization: `Bearer ${other}`}})
    expect(res.status).toBe(200)
    const {devices} = (await res.json()) as {devices: {device_id: string; display_name?: string}[]}
    expect(devices).toContainEqual(expect.objectContaining({device_id: device, display_name: 'reminder bot (prod)'}))
  })

  it('create by localpart, with the homeserver given: the session is the full ID', async () => {
    const a = await account()
    const created = await mxtok(
      ['create', 'bot', '--user', a.localpart, '--homeserver', mas.stack.provided.baseUrl, '--password-stdin', '--json'],
      {},
      `${a.password}\n`,
    )
    expect(created.code, created.stderr).toBe(0)
    expect(JSON.parse(created.stdout)).toMatchObject({userId: a.user, deviceId: deriveDeviceId(a.user, 'bot')})
    expect((await compatSession(a.localpart, deriveDeviceId(a.user, 'bot'))).live).toHaveLength(1)
  })
})

describe('imported tokens, against the real MAS', () => {
  it('an mct_ token issued with mas-cli is imported under its device, and revoke finishes its session at MAS', async () => {
    const a = await account()
    const device = 'MXTOKIMPORTED01'
    const mct = await issueCompatibilityToken(mas.stack.provided, a.localpart, device)
    secrets.add(mct)
    const imported = await mxtok(['import', 'ops', '--token-stdin', '--homeserver', mas.stack.provided.baseUrl, '--json'], {}, `${mct}\n`)
    expect(imported.code, imported.stderr).toBe(0)
    expect(JSON.parse(imported.stdout)).toMatchObject({userId: a.user, deviceId: device})
    expect(await token('ops')).toBe(mct)

    const revoked = await mxtok(['revoke', 'ops'])
    expect(revoked.code, revoked.stderr).toBe(0)
    const after = await compatSession(a.localpart, device)
    expect(after.all).toHaveLength(1)
    expect(after.all[0].attributes.finished_at).toEqual(expect.any(String))
  })

  it('a personal token (mpt_), which /logout cannot end: revoke says so with exit 4, keeps the session, and MAS still holds the token live', async () => {
    const a = await account()
    const personal = await issuePersonalToken(mas.stack.provided, a.localpart, {deviceId: 'MXTOKPERSONAL01'})
    secrets.add(personal.token)
    const imported = await mxtok(['import', 'ci', '--token-stdin', '--homeserver', mas.stack.provided.baseUrl], {}, `${personal.token}\n`)
    expect(imported.code, imported.stderr).toBe(0)

    const r = await mxtok(['revoke', 'ci'])
    expect(r.code, r.stderr).toBe(4)
    expectOneLineError(r)
    expect(r.stderr).toContain('mxtok revoke ci --local-only')
    expect(r.stdout).not.toContain('logged out')
    // MAS's own view: the personal session was not ended, and the token still works.
    expect((await masSession(mas.stack.provided, 'personal-sessions', personal.id)).attributes.revoked_at).toBeNull()
    expect((await rawWhoami(mas.stack.provided.baseUrl, personal.token)).status).toBe(200)
    // mxtok kept it, with its token.
    expect(await token('ci')).toBe(personal.token)

    // Ended where it can be, then forgotten here, as the message says.
    const ended = await masAdmin(mas.stack.provided, 'POST', `/personal-sessions/${personal.id}/revoke`)
    expect(ended.status, JSON.stringify(ended.body)).toBe(200)
    expect((await masSession(mas.stack.provided, 'personal-sessions', personal.id)).attributes.revoked_at).toEqual(expect.any(String))
    const forgotten = await mxtok(['revoke', 'ci', '--local-only'])
    expect(forgotten.code, forgotten.stderr).toBe(0)
    expect((await mxtok(['list', '--offline', '--json'])).stdout).not.toContain('"ci"')
  })
})

describe("OAuth sessions, approved in MAS's own pages", () => {
  /** The user's OAuth sessions at MAS that hold this device. */
  const oauthSessions = async (localpart: string, device: string) =>
    (await masSessions(mas.stack.provided, 'oauth2-sessions', localpart)).filter((s) =>
      String(s.attributes.scope).split(' ').includes(`urn:matrix:client:device:${device}`),
    )

  async function createApproved(a: MasAccount, name: string, more: string[] = []) {
    const created = await mas.createApproved(a, name, more)
    expect(created.page?.status).toBe(200)
    return created
  }

  it('create --oauth --admin by an admin: the token reaches the admin API of MAS, and the session says it does', async () => {
    const a = await mas.account('masadmin', {admin: true})
    const {localpart} = a
    const created = await createApproved(a, 'root', ['--admin'])
    expect(created.stdout).toContain('admin API   yes')
    const adminToken = await token('root')
    secrets.add(adminToken)
    const res = await fetch(`${mas.stack.provided.masUrl}/api/admin/v1/users/by-username/${localpart}`, {headers: {authorization: `Bearer ${adminToken}`}})
    expect(res.status).toBe(200)
    expect(((await res.json()) as {data: {attributes: {username: string}}}).data.attributes.username).toBe(localpart)
    const [masSide] = await oauthSessions(localpart, deriveDeviceId(a.user, 'root'))
    expect(String(masSide.attributes.scope).split(' ')).toContain('urn:mas:admin')

    // list and verify say it is an admin one, a user's on its device.
    const listed = JSON.parse((await mxtok(['list', '--json'])).stdout).sessions
    expect(listed).toEqual([expect.objectContaining({name: 'root', userId: a.user, deviceId: deriveDeviceId(a.user, 'root'), masAdmin: 'user'})])
    expect((await mxtok(['list'])).stdout).toContain(`${a.user} (MAS admin)`)
    const verified = await mxtok(['verify', 'root', '--json'])
    expect(verified.code, verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout)).toEqual([expect.objectContaining({name: 'root', status: 'valid', masAdmin: 'user'})])

    // Refreshed like any OAuth session (rotate refreshes though none is due): the new token reaches
    // the admin API, the old one no longer does, at MAS itself.
    const rotated = await mxtok(['rotate', 'root', '--json'])
    expect(rotated.code, rotated.stderr).toBe(0)
    const fresh = await token('root')
    expect(fresh).not.toBe(adminToken)
    expect((await adminApiWith(fresh)).status).toBe(200)
    expect((await adminApiWith(adminToken)).status).toBe(401)

    // Revoked: its session finished at MAS, and its token refused by the admin API (not whoami:
    // Synapse keeps answering for a token MAS has ended for a minute or two).
    const revoked = await mxtok(['revoke', 'root'])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect((await masSession(mas.stack.provided, 'oauth2-sessions', masSide.id)).attributes.finished_at).toEqual(expect.any(String))
    expect((await adminApiWith(fresh)).status).toBe(401)
  })

  it('create --oauth: the device grant approved at MAS, its token works, and revoke finishes the session at MAS', async () => {
    const a = await account()
    const device = deriveDeviceId(a.user, 'bot')
    await createApproved(a, 'bot')
    expect(await token('bot')).toMatch(/^mat_/)
    const live = (await oauthSessions(a.localpart, device)).filter((s) => s.attributes.finished_at === null)
    expect(live).toHaveLength(1)

    const revoked = await mxtok(['revoke', 'bot'])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect((await masSession(mas.stack.provided, 'oauth2-sessions', live[0].id)).attributes.finished_at).toEqual(expect.any(String))
  })
})

describe('a bot under mxtok exec, against the real MAS', () => {
  it("answers, and answers again with the new token once its password session is rotated through MAS's compatibility login", async () => {
    const a = await account()
    const friend = await account()
    const friendToken = await issueCompatibilityToken(mas.stack.provided, friend.localpart)
    secrets.add(friendToken)
    const pinger = new Pinger(mas.stack.provided.baseUrl, friendToken)
    const created = await mxtok(['create', 'bot', '--user', a.user, '--homeserver', mas.stack.provided.baseUrl, '--password-stdin'], {}, `${a.password}\n`)
    expect(created.code, created.stderr).toBe(0)
    await token('bot')
    const bot = botUnderExec('bot', env())
    try {
      await bot.ready()
      const room = await pinger.roomWith(a.user)
      await pinger.pingUntilPong(room, a.user)
      const device = deriveDeviceId(a.user, 'bot')
      const before = (await compatSession(a.localpart, device)).live

      const rotated = await mxtok(['rotate', 'bot', '--yes', '--password-stdin'], {}, `${a.password}\n`)
      expect(rotated.code, rotated.stderr).toBe(0)
      await token('bot')
      // Synapse still takes the old token for about two minutes, so a pong alone proves nothing here:
      // the bot must have been started again (exec looks every 2 s), and then answer.
      const deadline = Date.now() + 15_000
      while (bot.starts() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      expect(bot.starts()).toBe(2)
      await pinger.pingUntilPong(room, a.user)
      // MAS's own view: the session the old token belonged to is finished, one live session is left.
      const after = await compatSession(a.localpart, device)
      expect(after.live).toHaveLength(1)
      expect(after.live[0].id).not.toBe(before[0].id)
      expectNoSecrets({code: 0, stdout: '', stderr: bot.stderr()}, secrets)
    } finally {
      bot.child.kill('SIGTERM')
      await bot.ended
    }
  })
})

describe("an operator's admin client (client credentials), against the real MAS", () => {
  const create = (name: string, secret: string, more: string[] = []) =>
    mxtok(
      ['create', name, '--homeserver', mas.stack.provided.baseUrl, '--client-id', mas.stack.provided.adminClient.id, '--client-secret-stdin', ...more],
      {},
      `${secret}\n`,
    )

  it('create with the client secret on stdin: the token reaches the admin API, list and verify say what it is, and revoke ends it at MAS', async () => {
    const {id, secret} = mas.stack.provided.adminClient
    secrets.add(secret)
    const created = await create('ops', secret, ['--json'])
    expect(created.code, created.stderr).toBe(0)
    expect(JSON.parse(created.stdout)).toMatchObject({name: 'ops', userId: null, deviceId: null, masAdmin: 'client', clientId: id})
    const t1 = await token('ops')
    expect(t1).toMatch(/^mat_/)
    expect((await adminApiWith(t1)).status).toBe(200)

    const listed = await mxtok(['list', '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    // No account, so no devices to list, and no problem listing them.
    expect(JSON.parse(listed.stdout)).toEqual({
      sessions: [expect.objectContaining({name: 'ops', userId: null, deviceId: null, onServer: null, masAdmin: 'client', clientId: id})],
      devices: [],
    })
    expect((await mxtok(['list'])).stdout).toContain(`none: MAS admin client ${id}`)
    const verified = await mxtok(['verify', '--json'])
    expect(verified.code, verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout)).toEqual([{name: 'ops', status: 'valid', userId: null, deviceId: null, masAdmin: 'client', clientId: id}])

    // A token MAS refuses (ended there) is replaced with the client's credentials at the next use.
    const basic = Buffer.from(`${id}:${secret}`).toString('base64')
    const ended = await fetch(`${mas.stack.provided.masUrl}/oauth2/revoke`, {
      method: 'POST',
      headers: {authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded'},
      body: new URLSearchParams({token: t1, token_type_hint: 'access_token'}).toString(),
    })
    expect(ended.status).toBe(200)
    expect((await adminApiWith(t1)).status).toBe(401)
    const again = await mxtok(['verify', 'ops'])
    expect(again.code, again.stderr).toBe(0)
    const t2 = await token('ops')
    expect(t2).not.toBe(t1)
    expect((await adminApiWith(t2)).status).toBe(200)

    // rotate: a new token, and the old one revoked at MAS.
    const rotated = await mxtok(['rotate', 'ops', '--json'])
    expect(rotated.code, rotated.stderr).toBe(0)
    expect(JSON.parse(rotated.stdout)).toMatchObject({name: 'ops', kind: 'client', userId: null, deviceId: null})
    const t3 = await token('ops')
    expect(t3).not.toBe(t2)
    expect((await adminApiWith(t2)).status).toBe(401)
    expect((await adminApiWith(t3)).status).toBe(200)

    const doctor = await mxtok(['doctor', '--json'])
    expect(JSON.parse(doctor.stdout).orphans).toEqual([])

    const revoked = await mxtok(['revoke', 'ops', '--json'])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(JSON.parse(revoked.stdout)).toEqual({
      name: 'ops',
      userId: null,
      deviceId: null,
      homeserver: mas.stack.provided.baseUrl,
      revokedOnServer: true,
      clientId: id,
    })
    expect((await adminApiWith(t3)).status).toBe(401)
    expect((await mxtok(['list', '--offline', '--json'])).stdout).not.toContain('"ops"')
  })

  it('a wrong secret: exit 3, one line naming the configuration to check, nothing kept', async () => {
    const wrong = 'not-the-secret-of-this-client'
    secrets.add(wrong)
    const r = await create('ops', wrong)
    expect(r.code).toBe(3)
    expectOneLineError(r)
    expect(r.stderr).toContain('invalid_client')
    expect((await mxtok(['list', '--offline', '--json'])).stdout).not.toContain('"ops"')
    expect(JSON.parse((await mxtok(['doctor', '--json'])).stdout).orphans).toEqual([])
  })
})
