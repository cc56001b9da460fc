// Admin sessions on the real MAS when their access tokens expire: a stack of its own whose OAuth
// access tokens live 60 s (MAS's least), so that waiting for an expiry costs one minute here
// rather than five in mas.test.ts, whose stack keeps MAS's default. An admin user's session
// (create --oauth --admin) and an operator's admin client's (client credentials) wait together.
import {afterAll, beforeAll, expect, it} from 'vitest'
import type {Page} from '../support/browser.js'
import {expectNoSecrets, mxtokRunner, runCli, tempDir} from '../support/cli.js'
import {type KeyringSession, startKeyring} from '../support/keyring.js'
import {approveAtMas} from '../support/mas-browser.js'
import {type RealMas, startRealMas} from '../support/real-mas.js'
import {registerMasUser} from '../support/real-mas-client.js'

const TTL_S = 60

let stack: RealMas
let keyring: KeyringSession
let configDir: string
const secrets = new Set<string>()
const keyringEnv: Record<string, string> = {}
const {env, mxtok, token} = mxtokRunner(keyringEnv, () => configDir, secrets)

beforeAll(async () => {
  const [started, ownKeyring] = await Promise.allSettled([startRealMas({accessTokenTtlS: TTL_S}), startKeyring()])
  if (started.status === 'fulfilled') stack = started.value
  if (ownKeyring.status === 'fulfilled') keyring = ownKeyring.value
  if (started.status === 'rejected') throw started.reason
  if (ownKeyring.status === 'rejected') throw ownKeyring.reason
  Object.assign(keyringEnv, keyring.env)
  configDir = tempDir('mxtok-mas-expiry-')
})
afterAll(() => Promise.all([stack?.stop(), keyring?.stop()]))

/** MAS's admin API asked with this token: 200 while it works, 401 once it has expired or been ended. */
const adminApiWith = async (t: string) => (await fetch(`${stack.provided.masUrl}/api/admin/v1/site-config`, {headers: {authorization: `Bearer ${t}`}})).status

it(
  'both kinds of admin session outlive their access tokens: after a real expiry at MAS, verify passes and token gives one that works',
  async () => {
    const {id, secret} = stack.provided.adminClient
    secrets.add(secret)
    const localpart = `expiry${process.pid}`
    const password = `pw-${localpart}-Xq3Lm`
    secrets.add(password)
    const user = await registerMasUser(stack.provided, localpart, password, {admin: true})

    const client = await mxtok(['create', 'ops', '--homeserver', stack.provided.baseUrl, '--client-id', id, '--client-secret-stdin'], {}, `${secret}\n`)
    expect(client.code, client.stderr).toBe(0)
    let approval: Promise<Page> | undefined
    const admin = await runCli(['create', 'root', '--user', user, '--homeserver', stack.provided.baseUrl, '--oauth', '--admin'], {
      env: env(),
      timeoutMs: 60_000,
      onStderr: (soFar) => {
        const shown = / open (http\S+) and enter the code (\S+)/.exec(soFar) ?? / open (http\S+\?code=(\S+))/.exec(soFar)
        if (shown && !approval) approval = approveAtMas(shown[1], shown[2], {username: localpart, password})
      },
    })
    await approval
    expectNoSecrets(admin, secrets)
    expect(admin.code, admin.stderr).toBe(0)

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
      expect.objectContaining({name: 'root', status: 'valid', masAdmin: 'user', userId: user}),
    ])
    for (const name of ['ops', 'root'] as const) {
      const after = await token(name)
      expect(after).not.toBe(before[name])
      expect(await adminApiWith(after)).toBe(200)
    }
  },
  (TTL_S + 90) * 1000,
)
