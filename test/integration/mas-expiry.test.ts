// Admin sessions on the real MAS when their access tokens expire: a stack of its own whose OAuth
// access tokens live 60 s (MAS's least), so that waiting for an expiry costs one minute here
// rather than five in mas.test.ts, whose stack keeps MAS's default. An admin user's session
// (create --oauth --admin) and an operator's admin client's (client credentials) wait together.
import {expect, it} from 'vitest'
import {masSuite} from '../support/mas-suite.js'

const TTL_S = 60

const mas = masSuite({dirPrefix: 'mxtok-mas-expiry-', stack: {accessTokenTtlS: TTL_S}})
const {mxtok, token, secrets} = mas

/** MAS's admin API asked with this token: 200 while it works, 401 once it has expired or been ended. */
const adminApiWith = async (t: string) =>
  (await fetch(`${mas.stack.provided.masUrl}/api/admin/v1/site-config`, {headers: {authorization: `Bearer ${t}`}})).status

it(
  'both kinds of admin session outlive their access tokens: after a real expiry at MAS, verify passes and token gives one that works',
  async () => {
    const {id, secret} = mas.stack.provided.adminClient
    secrets.add(secret)
    const admin = await mas.account('expiry', {admin: true})

    const client = await mxtok(['create', 'ops', '--homeserver', mas.stack.provided.baseUrl, '--client-id', id, '--client-secret-stdin'], {}, `${secret}\n`)
    expect(client.code, client.stderr).toBe(0)
    await mas.createApproved(admin, 'root', ['--admin'])

    // A token of each, read once (with 60 s of life, each read renews it: mxtok renews within a
    // minute of the end); then the wait, after which MAS itself refuses both.
    const before = {ops: await token('ops'), root: await token('root')}
    for (const t of Object.values(before)) expect(await adminApiWith(t)).toBe(200)
    await new Promise((r) => setTimeout(r, (TTL_S + 2) * 1000))
    for (const t of Object.values(before)) expect(await adminApiWith(t)).toBe(401)

    const verified = await mxtok(['verify', '--json'])
    expect(verified.code, verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout)).toEqual([
      expect.objectContaining({name: 'ops', status: 'valid', masAdmin: 'client'}),
      expect.objectContaining({name: 'root', status: 'valid', masAdmin: 'user', userId: admin.user}),
    ])
    for (const name of ['ops', 'root'] as const) {
      const after = await token(name)
      expect(after).not.toBe(before[name])
      expect(await adminApiWith(after)).toBe(200)
    }
  },
  (TTL_S + 90) * 1000,
)
