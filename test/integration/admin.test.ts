// A server admin's session at work through Synapse's admin API, against each homeserver the test
// set-up starts: admin logins (create --as) and another user's devices pruned (prune --as), and
// prune --keep for the account's own devices.
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {rawLogin, rawWhoami, registerUser, synapseVenvDir} from '../support/synapse.js'
import {userDevices} from '../support/synapse-db.js'

const homeservers = await service('homeservers')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'admin-login-password-do-not-leak'
const DAY_MS = 86_400_000

/** The expiry Synapse itself holds for a token, in ms since the epoch (null: none). */
function tokenValidUntil(synapseDir: string, token: string): number | null {
  const query = `
import sqlite3, sys, json
db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)
print(json.dumps(db.execute('SELECT valid_until_ms, device_id FROM access_tokens WHERE token = ?', (sys.argv[2],)).fetchall()))
`
  const rows = JSON.parse(
    execFileSync(join(synapseVenvDir(), 'bin', 'python'), ['-c', query, join(synapseDir, 'homeserver.db'), token], {encoding: 'utf8'}),
  ) as [number | null, string | null][]
  expect(rows).toHaveLength(1)
  expect(rows[0][1]).toBeNull()
  return rows[0][0]
}

describe.each(homeservers)('on $kind', (server) => {
  const secrets = new Set<string>([PASSWORD])
  let configDir: string
  let adminId: string
  let botId: string
  let plainId: string
  const {mxtok, token} = mxtokRunner(keyringEnv, () => configDir, secrets)

  /** Logs in to each device in turn and uses it at once, so that each is seen later than the one before. */
  async function seenInOrder(user: string, deviceIds: string[]): Promise<void> {
    for (const id of deviceIds) {
      const l = await rawLogin(server.baseUrl, user, PASSWORD, id)
      secrets.add(l.access_token)
      expect((await rawWhoami(server.baseUrl, l.access_token)).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  /** The account's device IDs as the server lists them, asked with a session's token. */
  async function serverDevices(session: string): Promise<string[]> {
    const res = await fetch(`${server.baseUrl}/_matrix/client/v3/devices`, {headers: {authorization: `Bearer ${await token(session)}`}})
    expect(res.status).toBe(200)
    return ((await res.json()) as {devices: {device_id: string}[]}).devices.map((d) => d.device_id).sort()
  }

  const deviceOf = async (name: string) => {
    const list = await mxtok(['list', '--offline', '--json'])
    return (JSON.parse(list.stdout) as {sessions: {name: string; deviceId: string}[]}).sessions.find((s) => s.name === name)!.deviceId
  }

  it('prune --keep N keeps the N most recently seen devices of the own account, and those of local sessions', async () => {
    const keeper = await registerUser(server, `opskeep${server.kind}${process.pid}`, PASSWORD)
    const c = await mxtok(['create', 'keeper', '--user', keeper, '--homeserver', server.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(c.code, c.stderr).toBe(0)
    await seenInOrder(keeper, ['KEEPOLD1', 'KEEPOLD2', 'KEEPNEW1', 'KEEPNEW2'])
    const own = await deviceOf('keeper')
    const before = await serverDevices('keeper')
    const r = await mxtok(['prune', '--user', keeper, '--keep', '2', '--yes', '--password-stdin', '--json'], {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
    const after = await serverDevices('keeper')
    expect(after).toEqual([own, 'KEEPNEW1', 'KEEPNEW2'].sort())
    expect((JSON.parse(r.stdout) as {deleted: string[]}).deleted.sort()).toEqual(before.filter((d) => !after.includes(d)).sort())
    expect(before).toEqual(expect.arrayContaining(['KEEPOLD1', 'KEEPOLD2']))
  })

  beforeAll(async () => {
    const tag = `${server.kind}${process.pid}`
    adminId = await registerUser(server, `opsadmin${tag}`, PASSWORD, true)
    botId = await registerUser(server, `opsbot${tag}`, PASSWORD)
    plainId = await registerUser(server, `opsplain${tag}`, PASSWORD)
    configDir = tempDir('mxtok-admin-')
    for (const [name, user] of [
      ['admin', adminId],
      ['plain', plainId],
    ]) {
      const r = await mxtok(['create', name, '--user', user, '--homeserver', server.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
      expect(r.code, r.stderr).toBe(0)
    }
  })

  if (server.kind === 'dendrite') {
    it('says in one line that the server has no Synapse admin API, and keeps nothing', async () => {
      const r = await mxtok(['create', 'bot', '--user', botId, '--as', 'admin'])
      expect(r.code, r.stderr).toBe(5)
      expectOneLineError(r)
      expect(r.stderr).toMatch(/has no Synapse admin API/)
      const list = await mxtok(['list', '--offline', '--json'])
      expect((JSON.parse(list.stdout) as {sessions: {name: string}[]}).sessions.map((s) => s.name)).not.toContain('bot')
    })

    it('prune --as says in one line that the server has no Synapse admin API, and deletes nothing', async () => {
      const before = await serverDevices('plain')
      const r = await mxtok(['prune', '--user', plainId, '--as', 'admin', '--orphans', '--yes'])
      expect(r.code, r.stderr).toBe(5)
      expectOneLineError(r)
      expect(r.stderr).toMatch(/has no Synapse admin API/)
      expect(await serverDevices('plain')).toEqual(before)
    })

    it('has no expiry to warn of for password sessions', async () => {
      const v = await mxtok(['verify', '--expiring-within', '3650d', '--json'])
      expect(v.code, v.stderr).toBe(0)
      expect(JSON.parse(v.stdout)).toEqual([
        {name: 'admin', status: 'valid', userId: adminId, deviceId: expect.any(String)},
        {name: 'keeper', status: 'valid', userId: expect.any(String), deviceId: expect.any(String)},
        {name: 'plain', status: 'valid', userId: plainId, deviceId: expect.any(String)},
      ])
    })
    return
  }

  it('makes a token on no device that expires in 30 days by default, without a password', async () => {
    const before = Date.now()
    const devicesBefore = userDevices(server.dir, botId)
    // No standard input and no MXTOK_PASSWORD: a password prompt would fail the run.
    const r = await mxtok(['create', 'bot', '--user', botId, '--as', 'admin', '--json'], {}, '')
    expect(r.code, r.stderr).toBe(0)
    const created = JSON.parse(r.stdout) as {userId: string; adminBy: string; expiresAt: string}
    expect(created).toMatchObject({userId: botId, adminBy: adminId})
    const expiresAt = Date.parse(created.expiresAt)
    expect(expiresAt).toBeGreaterThanOrEqual(before + 30 * DAY_MS)
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 30 * DAY_MS)

    const t = await token('bot')
    const who = await rawWhoami(server.baseUrl, t)
    expect(who.status).toBe(200)
    expect(who.body).toMatchObject({user_id: botId})
    expect((who.body as {device_id?: string}).device_id).toBeUndefined()
    // What the server holds: the same expiry, no device, and the user's devices unchanged.
    expect(tokenValidUntil(server.dir, t)).toBe(expiresAt)
    expect(userDevices(server.dir, botId)).toEqual(devicesBefore)
  })

  it('lists the admin login with its maker and expiry, and verify finds it valid', async () => {
    const list = await mxtok(['list', '--json'])
    expect(list.code, list.stderr).toBe(0)
    const bot = (JSON.parse(list.stdout) as {sessions: {name: string; adminBy?: string; expiresAt?: string; onServer: boolean | null}[]}).sessions.find(
      (s) => s.name === 'bot',
    )
    expect(bot).toMatchObject({adminBy: adminId, onServer: null})
    expect(bot?.expiresAt).toMatch(/^\d{4}-/)
    const text = await mxtok(['list'])
    expect(text.stdout).toMatch(/none: admin login, expires \d{4}-\d\d-\d\d/)

    const v = await mxtok(['verify', 'bot', '--json'])
    expect(v.code, v.stderr).toBe(0)
    expect(JSON.parse(v.stdout)).toMatchObject([{name: 'bot', status: 'valid', expiresAt: bot!.expiresAt}])
    const table = await mxtok(['verify', 'bot'])
    expect(table.stdout).toMatch(/bot +valid .* expires \d{4}-\d\d-\d\d \d\d:\d\d/)
  })

  it('revokes the admin login with /logout, leaving the admin session alive', async () => {
    const t = await token('bot')
    const admin = await token('admin')
    const r = await mxtok(['revoke', 'bot'])
    expect(r.code, r.stderr).toBe(0)
    expect((await rawWhoami(server.baseUrl, t)).status).toBe(401)
    expect((await rawWhoami(server.baseUrl, admin)).status).toBe(200)
  })

  it('takes --expires, keeps "never" without an expiry, and calls a token past its expiry expired', async () => {
    const never = await mxtok(['create', 'forever', '--user', botId, '--as', 'admin', '--expires', 'never', '--json'])
    expect(never.code, never.stderr).toBe(0)
    expect(JSON.parse(never.stdout).expiresAt).toBeUndefined()
    expect(tokenValidUntil(server.dir, await token('forever'))).toBeNull()

    const short = await mxtok(['create', 'short', '--user', botId, '--as', 'admin', '--expires', '1s'])
    expect(short.code, short.stderr).toBe(0)
    await new Promise((resolve) => setTimeout(resolve, 1500))
    const v = await mxtok(['verify', 'short', '--json'])
    expect(v.code).toBe(4)
    expect(JSON.parse(v.stdout)).toMatchObject([{name: 'short', status: 'expired'}])
    const t = await mxtok(['token', 'short'])
    expect(t.code).toBe(4)
    expectOneLineError(t)
    expect(t.stderr).toMatch(/expired at .*create the session again/)

    const bad = await mxtok(['create', 'x', '--user', botId, '--as', 'admin', '--expires', 'soon'])
    expect(bad.code).toBe(2)
    expectOneLineError(bad)
  })

  it('verify --expiring-within exits 4 naming the sessions dead by then, and only those', async () => {
    for (const [name, expires] of [
      ['soon', '2d'],
      ['later', '30d'],
    ]) {
      const r = await mxtok(['create', name, '--user', botId, '--as', 'admin', '--expires', expires])
      expect(r.code, r.stderr).toBe(0)
    }
    const week = await mxtok(['verify', 'soon', 'later', 'admin', '--expiring-within', '7d', '--json'])
    expect(week.code, week.stderr).toBe(4)
    const results = JSON.parse(week.stdout) as {name: string; status: string}[]
    expect(Object.fromEntries(results.map((r) => [r.name, r.status]))).toEqual({soon: 'expiring', later: 'valid', admin: 'valid'})
    const text = await mxtok(['verify', 'soon', 'later', '--expiring-within', '7d'])
    expect(text.code).toBe(4)
    expect(text.stdout).toMatch(/soon +expiring .*expires at/)
    const hour = await mxtok(['verify', 'soon', 'later', 'admin', '--expiring-within', '1h'])
    expect(hour.code, hour.stdout).toBe(0)
    const bad = await mxtok(['verify', '--expiring-within', 'a week'])
    expect(bad.code).toBe(2)
    expectOneLineError(bad)
  })

  it('refuses a session of an account that is not a server admin in one line (exit 3)', async () => {
    const r = await mxtok(['create', 'bot2', '--user', botId, '--as', 'plain'])
    expect(r.code, r.stderr).toBe(3)
    expectOneLineError(r)
    expect(r.stderr).toContain(`${plainId} (session "plain") is not a server admin`)
    const list = await mxtok(['list', '--offline', '--json'])
    expect((JSON.parse(list.stdout) as {sessions: {name: string}[]}).sessions.map((s) => s.name)).not.toContain('bot2')
  })

  it("prune --as deletes another user's devices through the admin API, with no password, sparing local sessions and the --keep newest", async () => {
    const victim = await registerUser(server, `opsvictim${server.kind}${process.pid}`, PASSWORD)
    const c = await mxtok(['create', 'victim', '--user', victim, '--homeserver', server.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(c.code, c.stderr).toBe(0)
    await seenInOrder(victim, ['VICOLD1', 'VICOLD2', 'VICNEW1', 'VICNEW2'])
    const own = await deviceOf('victim')
    const before = userDevices(server.dir, victim)
    const expected = before.filter((d) => ![own, 'VICNEW1', 'VICNEW2'].includes(d)).sort()
    expect(expected).toEqual(expect.arrayContaining(['VICOLD1', 'VICOLD2']))

    const dry = await mxtok(['prune', '--user', victim, '--as', 'admin', '--keep', '2', '--dry-run', '--json'], {}, '')
    expect(dry.code, dry.stderr).toBe(0)
    expect((JSON.parse(dry.stdout) as {devices: {deviceId: string}[]}).devices.map((d) => d.deviceId).sort()).toEqual(expected)
    expect(userDevices(server.dir, victim)).toEqual(before)

    // Not on a terminal and without --yes: nothing is deleted.
    const unasked = await mxtok(['prune', '--user', victim, '--as', 'admin', '--keep', '2'], {}, '')
    expect(unasked.code).toBe(2)
    expectOneLineError(unasked)
    expect(userDevices(server.dir, victim)).toEqual(before)

    // No standard input and no MXTOK_PASSWORD: asking for a password would fail the run.
    const r = await mxtok(['prune', '--user', victim, '--as', 'admin', '--keep', '2', '--yes', '--json'], {}, '')
    expect(r.code, r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as {deleted: string[]}).deleted.sort()).toEqual(expected)
    expect(userDevices(server.dir, victim)).toEqual([own, 'VICNEW1', 'VICNEW2'].sort())
    const v = await mxtok(['verify', 'victim'])
    expect(v.code, v.stdout).toBe(0)
  })

  it('prune --as with a session that is not a server admin fails in one line (exit 3), deleting nothing', async () => {
    const before = userDevices(server.dir, botId)
    const r = await mxtok(['prune', '--user', botId, '--as', 'plain', '--orphans', '--yes'])
    expect(r.code, r.stderr).toBe(3)
    expectOneLineError(r)
    expect(r.stderr).toContain('is not a server admin')
    expect(userDevices(server.dir, botId)).toEqual(before)
  })
})
