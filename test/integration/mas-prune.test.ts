// prune --as against the real Matrix Authentication Service: an admin session made in MAS's own
// pages lists a user's compatibility, OAuth and personal sessions through MAS's admin API and ends
// exactly the selected ones. What it claims is checked in MAS's admin API (finished_at, revoked_at),
// not through Synapse, which keeps answering for an ended token for about two minutes.
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {expectOneLineError, tempDir} from '../support/cli.js'
import {type MasAccount, masSuite} from '../support/mas-suite.js'
import {type AdminResource, issueCompatibilityToken, issuePersonalToken, masSessions, type SessionKind} from '../support/real-mas-client.js'

const mas = masSuite({dirPrefix: 'mxtok-mas-prune-'})
const {mxtok, secrets} = mas
const account = (prefix: string, admin = false) => mas.account(prefix, {admin})

/** create --oauth, approved at MAS in a browser by the account's owner, in `dir`. */
const createApproved = (a: MasAccount, name: string, dir: string, more: string[] = []) => mas.createApproved(a, name, more, {HOME: dir, MXTOK_CONFIG_DIR: dir})

/** Each of the user's sessions at MAS, by kind and ID: live, or when it was finished or revoked. */
async function atMas(localpart: string): Promise<Map<string, AdminResource>> {
  const all = new Map<string, AdminResource>()
  for (const kind of ['compat-sessions', 'oauth2-sessions'] as SessionKind[]) {
    for (const s of await masSessions(mas.stack.provided, kind, localpart)) all.set(s.id, s)
  }
  return all
}
const ended = (s: AdminResource | undefined) => typeof s?.attributes.finished_at === 'string' || typeof s?.attributes.revoked_at === 'string'

describe('prune --as on a server behind MAS', () => {
  let bot: MasAccount
  const personal: Record<string, {id: string; token: string}> = {}
  const device = {local: '', oauth: ''}

  beforeAll(async () => {
    const admin = await account('pruneadmin', true)
    bot = await account('prunebot')
    await createApproved(admin, 'root', mas.configDir, ['--admin'])
    // The one local session of the user: its compatibility session, and a personal token on its device, must survive.
    const created = await mxtok(['create', 'bot', '--user', bot.user, '--homeserver', mas.stack.provided.baseUrl, '--password-stdin'], {}, `${bot.password}\n`)
    expect(created.code, created.stderr).toBe(0)
    device.local = deriveDeviceId(bot.user, 'bot')
    // Sessions nobody here holds: compatibility tokens on three devices, an OAuth session made in another config directory, personal tokens.
    for (const d of ['MXTOKORPHAN0001', 'MXTOKORPHAN0002', 'OPERATORLAPTOP']) secrets.add(await issueCompatibilityToken(mas.stack.provided, bot.localpart, d))
    await createApproved(bot, 'elsewhere', tempDir('mxtok-mas-prune-other-'))
    device.oauth = deriveDeviceId(bot.user, 'elsewhere')
    personal.orphan = await issuePersonalToken(mas.stack.provided, bot.localpart, {deviceId: 'MXTOKPERSONAL01'})
    personal.local = await issuePersonalToken(mas.stack.provided, bot.localpart, {deviceId: device.local})
    personal.deviceless = await issuePersonalToken(mas.stack.provided, bot.localpart)
    for (const p of Object.values(personal)) secrets.add(p.token)
  }, 180_000)

  /** The user's personal sessions at MAS (every status). */
  const personalAtMas = async () => new Map((await masSessions(mas.stack.provided, 'personal-sessions', bot.localpart)).map((s) => [s.id, s]))

  it('without --as: one line saying MAS does not let clients delete devices, and what to run instead', async () => {
    const r = await mxtok(['prune', '--user', bot.user, '--orphans', '--dry-run'])
    expect(r.code).toBe(2)
    expectOneLineError(r)
    expect(r.stderr).toContain('does not let clients delete devices')
    expect(r.stderr).toContain(`mxtok prune --user ${bot.user} --as ADMIN`)
    expect(r.stderr).toContain('--oauth --admin')
  })

  it('--dry-run lists the compatibility, OAuth and personal sessions with their device, and ends none', async () => {
    const before = await atMas(bot.localpart)
    const r = await mxtok(['prune', '--user', bot.user, '--as', 'root', '--keep', '0', '--dry-run', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({userId: bot.user, homeserver: mas.stack.provided.baseUrl, authServer: mas.stack.provided.masUrl, dryRun: true, ended: []})
    const listed = result.sessions.map((s: {kind: string; deviceId: string | null}) => `${s.kind} ${s.deviceId}`).sort()
    expect(listed).toEqual(
      [
        'compat MXTOKORPHAN0001',
        'compat MXTOKORPHAN0002',
        'compat OPERATORLAPTOP',
        `oauth2 ${device.oauth}`,
        'personal MXTOKPERSONAL01',
        'personal null',
      ].sort(),
    )
    for (const s of result.sessions)
      expect(s).toEqual({
        kind: s.kind,
        id: expect.any(String),
        deviceId: s.deviceId,
        displayName: s.displayName,
        lastSeenIp: s.lastSeenIp,
        lastSeenTs: s.lastSeenTs,
      })
    // MAS records activity in batches, later: right after they were made, none of these has a last activity yet.
    for (const s of result.sessions) expect(s.lastSeenTs === null || typeof s.lastSeenTs === 'number').toBe(true)

    const human = await mxtok(['prune', '--user', bot.user, '--as', 'root', '--orphans', '--dry-run'])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain('KIND')
    expect(human.stdout).toContain('MXTOKPERSONAL01')
    expect(human.stdout).toContain('Dry run: 4 sessions would be ended; nothing was.')
    // Nothing changed at MAS.
    const after = await atMas(bot.localpart)
    expect([...after.values()].filter(ended).map((s) => s.id)).toEqual([...before.values()].filter(ended).map((s) => s.id))
  })

  it('--orphans ends exactly the sessions on MXTOK devices nobody here holds, as MAS itself shows; the local session survives', async () => {
    const r = await mxtok(['prune', '--user', bot.user, '--as', 'root', '--orphans', '--yes', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result.ended).toHaveLength(4)
    expect(result.ended.sort()).toEqual(result.sessions.map((s: {id: string}) => s.id).sort())

    const sessions = await atMas(bot.localpart)
    const byDevice = (d: string) =>
      [...sessions.values()].filter((s) => s.attributes.device_id === d || String(s.attributes.scope ?? '').includes(`:device:${d}`))
    for (const d of ['MXTOKORPHAN0001', 'MXTOKORPHAN0002', device.oauth]) expect(byDevice(d).every(ended), d).toBe(true)
    expect(byDevice('OPERATORLAPTOP').some((s) => !ended(s))).toBe(true)
    expect(byDevice(device.local).some((s) => !ended(s))).toBe(true)
    const personals = await personalAtMas()
    expect(personals.get(personal.orphan.id)?.attributes.revoked_at).toEqual(expect.any(String))
    expect(personals.get(personal.local.id)?.attributes.revoked_at).toBeNull()
    expect(personals.get(personal.deviceless.id)?.attributes.revoked_at).toBeNull()

    // The local session still works, by MAS's own account of it.
    const verified = await mxtok(['verify', 'bot'])
    expect(verified.code, verified.stderr).toBe(0)
  })

  it('--keep 0 then ends the rest, and never the local session, its personal token, nor the admin session', async () => {
    const r = await mxtok(['prune', '--user', bot.user, '--as', 'root', '--keep', '0', '--yes'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`Ended 2 sessions of ${bot.user}.`)
    const sessions = await atMas(bot.localpart)
    const live = [...sessions.values()].filter((s) => !ended(s))
    expect(live.map((s) => s.attributes.device_id ?? s.attributes.scope)).toEqual([device.local])
    const personals = await personalAtMas()
    expect([...personals.values()].filter((s) => s.attributes.revoked_at === null).map((s) => s.id)).toEqual([personal.local.id])
    // Nothing is left to select.
    const again = await mxtok(['prune', '--user', bot.user, '--as', 'root', '--keep', '0', '--dry-run'])
    expect(again.code, again.stderr).toBe(0)
    expect(again.stdout).toContain(`No session of ${bot.user} matches; nothing to end.`)
  })
})
