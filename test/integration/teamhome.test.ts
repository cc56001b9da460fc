// The team home: sessions kept in a real OpenBao dev server by two operators (two config
// directories, two tokens), against the real Synapse. What mxtok leaves in OpenBao is read back
// with plain HTTP, as a bot or an admin would; what the homeserver holds, from Synapse's database.
import {spawn} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {OPENBAO_DOCS, startBaoAgent} from '../support/bao-agent.js'
import {BIN, type CliResult, type Env, runCli, tempDir} from '../support/cli.js'
import {baoAdmin, baoApi, type OpenbaoDevServer, startOpenbaoDev} from '../support/openbao.js'
import {service} from '../support/services.js'
import {rawLogin, rawWhoami, registerUser} from '../support/synapse.js'
import {deviceTokens} from '../support/synapse-db.js'

const synapse = await service('synapse')
const PASSWORD = 'team home test password'
const PASSPHRASE = 'a passphrase for the file store'
const HOME = 'secret/team'

let bao: OpenbaoDevServer
let userId: string
const secrets = new Set([PASSWORD, PASSPHRASE])
/** Two operators: each a config directory of their own and a token of their own. */
const operators: Record<'a' | 'b', {dir: string; token: string}> = {a: {dir: '', token: ''}, b: {dir: '', token: ''}}

beforeAll(async () => {
  bao = await startOpenbaoDev()
  secrets.add(bao.rootToken)
  await baoAdmin(bao.address, bao.rootToken, 'PUT', 'sys/policies/acl/operator', {
    policy: 'path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }',
  })
  for (const op of ['a', 'b'] as const) {
    const made = await baoAdmin(bao.address, bao.rootToken, 'POST', 'auth/token/create', {policies: ['operator'], ttl: '1h'})
    operators[op] = {dir: tempDir(`mxtok-team-${op}-`), token: (made.auth as {client_token: string}).client_token}
    secrets.add(operators[op].token)
  }
  userId = await registerUser(synapse, `team${process.pid}`, PASSWORD)
})

afterAll(async () => {
  await bao?.stop()
})

const envOf = (op: 'a' | 'b', extra: Env = {}): Env => ({
  HOME: operators[op].dir,
  MXTOK_CONFIG_DIR: operators[op].dir,
  MXTOK_PASSWORD: PASSWORD,
  MXTOK_PASSPHRASE: PASSPHRASE,
  MXTOK_STORE: 'file',
  BAO_ADDR: bao.address,
  BAO_TOKEN: operators[op].token,
  MXTOK_VAULT: HOME,
  ...extra,
})

async function mxtok(op: 'a' | 'b', args: string[], extra: Env = {}): Promise<CliResult> {
  const r = await runCli(args, {env: envOf(op, extra)})
  for (const s of secrets) {
    if (args[0] !== 'token') expect(r.stdout).not.toContain(s)
    expect(r.stderr).not.toContain(s)
  }
  return r
}

async function tokenOf(op: 'a' | 'b', name: string): Promise<string> {
  const t = await mxtok(op, ['token', name])
  expect(t.code, t.stderr).toBe(0)
  secrets.add(t.stdout.trim())
  return t.stdout.trim()
}

const secretPath = (kind: 'data' | 'metadata', name: string) => `secret/${kind}/team/sessions/${name}`
const secretData = async (name: string) => {
  const r = await baoApi(bao.address, bao.rootToken, 'GET', secretPath('data', name))
  return r.status === 200 ? (r.body?.data as {data: Record<string, string>; metadata: {version: number}}) : undefined
}
const versions = async (name: string) => {
  const r = await baoApi(bao.address, bao.rootToken, 'GET', secretPath('metadata', name))
  return (r.body?.data as {current_version: number; versions: Record<string, {destroyed: boolean}>} | undefined) ?? undefined
}
/** The names in the sessions folder, as `bao kv list` shows them. */
const namesListed = async () => {
  const r = await baoApi(bao.address, bao.rootToken, 'GET', 'secret/metadata/team/sessions/?list=true')
  expect([200, 404]).toContain(r.status)
  return r.status === 404 ? [] : (r.body?.data as {keys: string[]} | undefined)?.keys
}
const device = (name: string) => deriveDeviceId(userId, name)
const createArgs = (name: string) => ['create', name, '--user', userId, '--homeserver', synapse.baseUrl]

describe('the team home', () => {
  it("keeps a session's record and token in one secret a bot reads; the other operator lists, verifies and uses it; revoke leaves no token in its history", async () => {
    const c = await mxtok('a', createArgs('bot'))
    expect(c.code, c.stderr).toBe(0)
    expect(c.stdout).toContain('team home in OpenBao/Vault')
    const token = await tokenOf('a', 'bot')

    const secret = await secretData('bot')
    expect(secret?.metadata.version).toBe(1)
    expect(secret?.data).toEqual({
      access_token: token,
      user_id: userId,
      device_id: device('bot'),
      homeserver: synapse.baseUrl,
      mxtok_layout: '2',
      mxtok_auth: 'password',
      mxtok_created_at: expect.any(String),
      mxtok_created_by: expect.stringContaining('@'),
    })
    // Nothing on operator A's machine: no registry entry, no file store.
    const localA = await mxtok('a', ['list', '--offline', '--json'], {MXTOK_VAULT: undefined})
    expect(JSON.parse(localA.stdout).sessions).toEqual([])

    const listed = await mxtok('b', ['list', '--offline', '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(JSON.parse(listed.stdout).sessions.map((s: {name: string}) => s.name)).toEqual(['bot'])
    const verified = await mxtok('b', ['verify', 'bot'])
    expect(verified.code, verified.stderr).toBe(0)
    expect(await tokenOf('b', 'bot')).toBe(token)
    const exec = await mxtok('b', [
      'exec',
      'bot',
      '--',
      process.execPath,
      '-e',
      'process.stdout.write(String(process.env.MATRIX_ACCESS_TOKEN === process.argv[1]))',
      token,
    ])
    expect(exec.code, exec.stderr).toBe(0)
    expect(exec.stdout).toBe('true')
    expect(deviceTokens(synapse.dir, userId, device('bot'))).toEqual([token])

    const r = await mxtok('b', ['revoke', 'bot'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    expect(deviceTokens(synapse.dir, userId, device('bot'))).toEqual([])
    // Nothing of it stays in OpenBao: no key, so no version and no name in the folder's list.
    expect((await baoApi(bao.address, bao.rootToken, 'GET', secretPath('metadata', 'bot'))).status).toBe(404)
    expect(await namesListed()).not.toContain('bot')
    const gone = await mxtok('a', ['list', '--offline', '--json'])
    expect(JSON.parse(gone.stdout).sessions).toEqual([])
    const t = await mxtok('a', ['token', 'bot'])
    expect(t.code).toBe(2)

    // The name is free: a create of it starts a new secret.
    const again = await mxtok('b', createArgs('bot'))
    expect(again.code, again.stderr).toBe(0)
    expect((await secretData('bot'))?.metadata.version).toBe(1)
    expect(deviceTokens(synapse.dir, userId, device('bot'))).toEqual([await tokenOf('a', 'bot')])
    expect((await mxtok('a', ['revoke', 'bot'])).code).toBe(0)
  })

  it('--vault says the same as MXTOK_VAULT for one run, and --store vault without a team home says how to name one', async () => {
    const c = await mxtok('a', [...createArgs('flagged'), '--vault', HOME], {MXTOK_VAULT: undefined})
    expect(c.code, c.stderr).toBe(0)
    expect((await secretData('flagged'))?.data.device_id).toBe(device('flagged'))
    const none = await mxtok('a', [...createArgs('nowhere'), '--store', 'vault'], {MXTOK_VAULT: undefined})
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/--vault MOUNT\/PREFIX or MXTOK_VAULT/)
    expect((await mxtok('b', ['revoke', 'flagged'])).code).toBe(0)
  })

  it('moves a local session into the team home and back, the token never in neither place', async () => {
    const local = await mxtok('a', createArgs('mover'), {MXTOK_VAULT: undefined})
    expect(local.code, local.stderr).toBe(0)
    const token = await tokenOf('a', 'mover').catch(() => '')
    expect(token).toBe('')
    const localToken = (await mxtok('a', ['token', 'mover'], {MXTOK_VAULT: undefined})).stdout.trim()
    secrets.add(localToken)

    const m = await mxtok('a', ['move', 'mover', '--to', 'vault'])
    expect(m.code, m.stderr).toBe(0)
    expect((await secretData('mover'))?.data.access_token).toBe(localToken)
    expect(JSON.parse((await mxtok('a', ['list', '--offline', '--json'], {MXTOK_VAULT: undefined})).stdout).sessions).toEqual([])
    expect(await tokenOf('b', 'mover')).toBe(localToken)

    const back = await mxtok('b', ['move', 'mover', '--to', 'file'])
    expect(back.code, back.stderr).toBe(0)
    expect(await versions('mover')).toBeUndefined()
    expect(await namesListed()).not.toContain('mover')
    const there = await mxtok('b', ['token', 'mover'], {MXTOK_VAULT: undefined})
    expect(there.stdout.trim()).toBe(localToken)
    expect(deviceTokens(synapse.dir, userId, device('mover'))).toEqual([localToken])
    expect((await mxtok('b', ['revoke', 'mover'], {MXTOK_VAULT: undefined})).code).toBe(0)
  })

  it('a create killed with -9 half-way leaves its journal in the team home, which doctor on the other machine reports', async () => {
    const child = spawn(process.execPath, [BIN, ...createArgs('killed')], {env: {PATH: process.env.PATH, ...envOf('a')} as NodeJS.ProcessEnv, stdio: 'ignore'})
    // Killed as soon as the journal entry is in OpenBao, before its login can be recorded.
    for (let i = 0; i < 2000; i++) {
      const listed = await baoApi(bao.address, bao.rootToken, 'GET', 'secret/metadata/team/pending/?list=true')
      if (listed.status === 200) break
      await new Promise((r) => setTimeout(r, 2))
    }
    child.kill('SIGKILL')
    await new Promise((r) => child.on('close', r))
    for (const t of deviceTokens(synapse.dir, userId, device('killed'))) secrets.add(t)
    const d = await mxtok('b', ['doctor'])
    expect(d.stdout).toContain(`create of session "killed" was interrupted`)
    expect(d.stdout).toMatch(/ok {3}store vault/)
    // Its advice, run by the other operator, leaves the device with the one stored token.
    const again = await mxtok('b', createArgs('killed'))
    expect(again.code, again.stderr).toBe(0)
    expect(deviceTokens(synapse.dir, userId, device('killed'))).toEqual([await tokenOf('b', 'killed')])
    expect((await mxtok('a', ['doctor'])).stdout).not.toContain('interrupted')
    expect((await mxtok('a', ['revoke', 'killed'])).code).toBe(0)
  })

  it('import, rename, rotate and prune work on the team home, and doctor finds it working', async () => {
    const login = await rawLogin(synapse.baseUrl, userId, PASSWORD, 'TEAMIMPORTED')
    secrets.add(login.access_token)
    const i = await runCli(['import', 'imported', '--token-stdin', '--user', userId, '--homeserver', synapse.baseUrl], {
      env: envOf('a'),
      input: `${login.access_token}\n`,
    })
    expect(i.code, i.stderr).toBe(0)
    expect((await secretData('imported'))?.data).toMatchObject({access_token: login.access_token, device_id: 'TEAMIMPORTED', mxtok_auth: 'password'})

    const n = await mxtok('b', ['rename', 'imported', '--device-name', 'team bot'])
    expect(n.code, n.stderr).toBe(0)

    const r = await mxtok('b', ['rotate', 'imported', '--yes'])
    expect(r.code, r.stderr).toBe(0)
    const rotated = await tokenOf('a', 'imported')
    expect(rotated).not.toBe(login.access_token)
    const secret = await secretData('imported')
    expect(secret?.data.access_token).toBe(rotated)
    const onServer = deviceTokens(synapse.dir, userId, secret!.data.device_id)
    expect(onServer).toEqual([rotated])
    expect(deviceTokens(synapse.dir, userId, 'TEAMIMPORTED')).toEqual(secret!.data.device_id === 'TEAMIMPORTED' ? [rotated] : [])

    const p = await mxtok('a', ['prune', '--user', userId, '--orphans', '--dry-run', '--json'])
    expect(p.code, p.stderr).toBe(0)
    expect(JSON.stringify(JSON.parse(p.stdout))).not.toContain(secret!.data.device_id)

    const d = await mxtok('a', ['doctor', '--json'])
    expect(d.code, d.stdout).toBe(0)
    expect(JSON.parse(d.stdout)).toMatchObject({registry: `${HOME} in OpenBao/Vault`, sessions: 1, configuredStore: 'vault'})
    expect((await mxtok('a', ['revoke', 'imported'])).code).toBe(0)
  })
})

describe('a removal the policy does not let finish', () => {
  it('revoke still ends the session and warns, leaving a key with no token, which doctor counts and doctor --fix deletes', async () => {
    // An operator who may not delete a session's key (the journal's entries, yes).
    await baoAdmin(bao.address, bao.rootToken, 'PUT', 'sys/policies/acl/keeper', {
      policy: [
        'path "secret/data/team/*" { capabilities = ["create", "read", "update", "delete"] }',
        'path "secret/metadata/team/*" { capabilities = ["read", "list", "update"] }',
        'path "secret/metadata/team/pending/*" { capabilities = ["read", "list", "update", "delete"] }',
        'path "secret/destroy/team/*" { capabilities = ["update"] }',
        'path "secret/detailed-metadata/team/*" { capabilities = ["list"] }',
      ].join('\n'),
    })
    const made = await baoAdmin(bao.address, bao.rootToken, 'POST', 'auth/token/create', {policies: ['keeper'], ttl: '1h'})
    const keeper = {BAO_TOKEN: (made.auth as {client_token: string}).client_token}
    secrets.add(keeper.BAO_TOKEN)

    const c = await mxtok('a', createArgs('kept'))
    expect(c.code, c.stderr).toBe(0)
    const token = await tokenOf('a', 'kept')
    const r = await mxtok('a', ['revoke', 'kept'], keeper)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/^mxtok: warning: .*"kept".* (denied|permission).*doctor --fix.*\n$/)
    expect((await rawWhoami(synapse.baseUrl, token)).status).toBe(401)
    // What stays: the name, in a last version that holds no token; the session's version destroyed.
    expect((await secretData('kept'))?.data).toEqual({mxtok_layout: '2', mxtok_deleted_at: expect.any(String)})
    const history = await versions('kept')
    expect(history?.versions['1'].destroyed).toBe(true)
    expect(JSON.parse((await mxtok('b', ['list', '--offline', '--json'])).stdout).sessions.map((s: {name: string}) => s.name)).not.toContain('kept')

    // The name is free at once.
    const again = await mxtok('a', createArgs('kept'), keeper)
    expect(again.code, again.stderr).toBe(0)
    expect(await namesListed()).toContain('kept')
    expect((await mxtok('a', ['revoke', 'kept'])).code).toBe(0)
    expect(await namesListed()).not.toContain('kept')

    // One more left by hand, as an older mxtok left every revoked name: doctor counts both, --fix deletes them.
    await baoApi(bao.address, bao.rootToken, 'POST', 'secret/data/team/sessions/older', {
      data: {mxtok_layout: '2', mxtok_deleted_at: '2026-01-01T00:00:00.000Z'},
    })
    const stones = await mxtok('a', createArgs('kept2'), keeper)
    expect(stones.code, stones.stderr).toBe(0)
    expect((await mxtok('a', ['revoke', 'kept2'], keeper)).code).toBe(0)
    const d = await mxtok('b', ['doctor'])
    expect(d.stdout).toMatch(/^WARN 2 removed sessions left their keys in secret\/team in OpenBao\/Vault, with no token: "mxtok doctor --fix" deletes them$/m)
    const fixed = await mxtok('b', ['doctor', '--fix', '--json'])
    expect(JSON.parse(fixed.stdout).removedKeys).toEqual({left: 2, deleted: 2})
    for (const name of ['older', 'kept2']) expect((await baoApi(bao.address, bao.rootToken, 'GET', secretPath('metadata', name))).status).toBe(404)
    expect((await mxtok('b', ['doctor'])).stdout).not.toMatch(/removed sessions/)
  })
})

describe('who made a session', () => {
  it("is the engine's identity of the operator's token, a userpass login's or an AppRole's, with the machine", async () => {
    const mounts = (await baoAdmin(bao.address, bao.rootToken, 'GET', 'sys/auth')).data as Record<string, unknown>
    for (const method of ['userpass', 'approle']) {
      if (!(`${method}/` in mounts)) await baoAdmin(bao.address, bao.rootToken, 'POST', `sys/auth/${method}`, {type: method})
    }
    const password = 'carol userpass password'
    secrets.add(password)
    await baoAdmin(bao.address, bao.rootToken, 'POST', 'auth/userpass/users/carol', {password, token_policies: ['operator']})
    const login = await baoApi(bao.address, undefined, 'POST', 'auth/userpass/login/carol', {password})
    expect(login.status).toBe(200)
    const carol = (login.body as {auth: {client_token: string}}).auth.client_token
    secrets.add(carol)
    const made = await mxtok('a', createArgs('bycarol'), {BAO_TOKEN: carol})
    expect(made.code, made.stderr).toBe(0)
    expect((await secretData('bycarol'))?.data.mxtok_created_by).toMatch(/^userpass-carol \(\S+@\S+\)$/)

    await baoAdmin(bao.address, bao.rootToken, 'POST', 'auth/approle/role/deployer', {token_policies: ['operator'], token_ttl: '10m'})
    const roleId = ((await baoAdmin(bao.address, bao.rootToken, 'GET', 'auth/approle/role/deployer/role-id')).data as {role_id: string}).role_id
    const secretId = ((await baoAdmin(bao.address, bao.rootToken, 'POST', 'auth/approle/role/deployer/secret-id')).data as {secret_id: string}).secret_id
    secrets.add(secretId)
    const secretIdFile = join(operators.b.dir, 'deployer-secret-id')
    writeFileSync(secretIdFile, secretId, {mode: 0o600})
    const byRole = await mxtok('b', createArgs('byrole'), {BAO_TOKEN: undefined, MXTOK_VAULT_ROLE_ID: roleId, MXTOK_VAULT_SECRET_ID_FILE: secretIdFile})
    expect(byRole.code, byRole.stderr).toBe(0)
    expect((await secretData('byrole'))?.data.mxtok_created_by).toMatch(/^approle-deployer \(\S+@\S+\)$/)

    // A rotate makes the session anew: who made it, and when, are then the other operator's (a token of auth/token/create).
    const before = (await secretData('bycarol'))?.data
    expect((await mxtok('a', ['rotate', 'bycarol', '--yes'])).code).toBe(0)
    const after = (await secretData('bycarol'))?.data
    expect(after?.mxtok_created_by).toMatch(/^token \(\S+@\S+\)$/)
    expect(after?.mxtok_created_at).not.toBe(before?.mxtok_created_at)
    for (const name of ['bycarol', 'byrole']) expect((await mxtok('a', ['revoke', name])).code).toBe(0)
  })
})

describe('a long exec on the team home', () => {
  it('keeps a short-lived OpenBao token alive for as long as the command runs', async () => {
    const name = 'renewed'
    const created = await mxtok('a', createArgs(name))
    expect(created.code, created.stderr).toBe(0)
    // A token that dies 3 s after its last renewal, as an AppRole's short TTL would, renewable for a minute.
    const made = await baoAdmin(bao.address, bao.rootToken, 'POST', 'auth/token/create', {policies: ['operator'], ttl: '3s', explicit_max_ttl: '60s'})
    const shortLived = (made.auth as {client_token: string}).client_token
    secrets.add(shortLived)
    const running = mxtok('a', ['exec', name, '--', 'sleep', '9'], {BAO_TOKEN: shortLived})
    // Looked at while the command runs, well past the 3 s the token had: alive, since exec renews it.
    await new Promise((r) => setTimeout(r, 6_000))
    const looked = await baoApi(bao.address, shortLived, 'GET', 'auth/token/lookup-self')
    expect(looked.status).toBe(200)
    const ran = await running
    expect(ran.code, ran.stderr).toBe(0)
  })
})

describe('a bot reading its session from the team home without mxtok, and with it', () => {
  // docs/openbao's examples are written for MXTOK_VAULT=secret/mxtok and the session "bot".
  const docsHome = {MXTOK_VAULT: 'secret/mxtok'}

  /** The bot's AppRole with docs/openbao/bot.hcl, which reads its own session's secret and nothing else. */
  async function botRole(dir: string): Promise<{roleId: string; secretIdFile: string}> {
    await baoAdmin(bao.address, bao.rootToken, 'PUT', 'sys/policies/acl/mxtok-bot', {policy: readFileSync(join(OPENBAO_DOCS, 'bot.hcl'), 'utf8')})
    const mounts = await baoAdmin(bao.address, bao.rootToken, 'GET', 'sys/auth')
    if (!('approle/' in ((mounts.data as Record<string, unknown>) ?? mounts)))
      await baoAdmin(bao.address, bao.rootToken, 'POST', 'sys/auth/approle', {type: 'approle'})
    await baoAdmin(bao.address, bao.rootToken, 'POST', 'auth/approle/role/bot', {token_policies: ['mxtok-bot'], token_ttl: '10m'})
    const roleId = ((await baoAdmin(bao.address, bao.rootToken, 'GET', 'auth/approle/role/bot/role-id')).data as {role_id: string}).role_id
    const secretId = ((await baoAdmin(bao.address, bao.rootToken, 'POST', 'auth/approle/role/bot/secret-id')).data as {secret_id: string}).secret_id
    secrets.add(secretId)
    writeFileSync(join(dir, 'role-id'), roleId)
    writeFileSync(join(dir, 'secret-id'), secretId, {mode: 0o600})
    return {roleId, secretIdFile: join(dir, 'secret-id')}
  }

  it('bao agent with docs/openbao renders the token, and renders the new one after mxtok rotate; the AppRole runs the bot with mxtok exec', async () => {
    const dir = tempDir('mxtok-agent-')
    const created = await mxtok('a', createArgs('bot'), docsHome)
    expect(created.code, created.stderr).toBe(0)
    const tokenNow = async () => {
      const t = await mxtok('a', ['token', 'bot'], docsHome)
      expect(t.code, t.stderr).toBe(0)
      secrets.add(t.stdout.trim())
      return t.stdout.trim()
    }
    const first = await tokenNow()
    let second = ''
    const role = await botRole(dir)

    const agent = startBaoAgent(dir, bao.address)
    try {
      await agent.until('rendered file', (text) => text.includes(first))
      expect(readFileSync(agent.rendered, 'utf8')).toBe(
        `homeserver: ${JSON.stringify(synapse.baseUrl)}\nuser_id: ${JSON.stringify(userId)}\ndevice_id: ${JSON.stringify(device('bot'))}\naccess_token: ${JSON.stringify(first)}\n`,
      )
      const rotated = await mxtok('a', ['rotate', 'bot', '--yes'], docsHome)
      expect(rotated.code, rotated.stderr).toBe(0)
      second = await tokenNow()
      expect(second).not.toBe(first)
      await agent.until('re-render after mxtok rotate', (text) => text.includes(second))
      expect(readFileSync(agent.rendered, 'utf8')).not.toContain(first)
    } finally {
      await agent.stop()
    }

    // The bot itself, by its AppRole alone (no operator token), runs under mxtok exec with its session.
    const ran = await runCli(['exec', 'bot', '--no-restart', '--', 'sh', '-c', 'test -n "$MATRIX_ACCESS_TOKEN" && echo "$MATRIX_USER_ID"'], {
      env: {
        HOME: dir,
        MXTOK_CONFIG_DIR: dir,
        BAO_ADDR: bao.address,
        ...docsHome,
        MXTOK_VAULT_ROLE_ID: role.roleId,
        MXTOK_VAULT_SECRET_ID_FILE: role.secretIdFile,
      },
    })
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout.trim()).toBe(userId)
    for (const secret of secrets) expect(ran.stderr).not.toContain(secret)
    // And may not write: a revoke stops before the homeserver, naming the path and the capability.
    const refused = await runCli(['revoke', 'bot'], {
      env: {
        HOME: dir,
        MXTOK_CONFIG_DIR: dir,
        BAO_ADDR: bao.address,
        ...docsHome,
        MXTOK_VAULT_ROLE_ID: role.roleId,
        MXTOK_VAULT_SECRET_ID_FILE: role.secretIdFile,
      },
    })
    expect(refused.code).toBe(9)
    expect(refused.stderr).toMatch(/secret\/(data|metadata|destroy)\/mxtok\//)
    expect(await rawWhoamiStatus(second)).toBe(200)
  })
})

async function rawWhoamiStatus(token: string): Promise<number> {
  return (await fetch(`${synapse.baseUrl}/_matrix/client/v3/account/whoami`, {headers: {authorization: `Bearer ${token}`}})).status
}
