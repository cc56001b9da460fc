// The policies, the Agent configuration and the template of docs/openbao/, loaded as they are into a
// real OpenBao dev server: what each policy allows and refuses through mxtok's client, doctor's
// report of the engine, a short-lived token kept alive by the renewer, and `bao agent` rendering a
// bot's configuration and rendering it again when the session's secret changes.
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {VaultClient} from '../../src/vault/client.js'
import {VaultError} from '../../src/vault/errors.js'
import {KvV2} from '../../src/vault/kv.js'
import {startRenewal} from '../../src/vault/renewer.js'
import {OPENBAO_DOCS, startBaoAgent} from '../support/bao-agent.js'
import {runCli, tempDir} from '../support/cli.js'
import {baoAdmin, type OpenbaoDevServer, openbaoVersion, startOpenbaoDev} from '../support/openbao.js'

const doc = (name: string) => readFileSync(join(OPENBAO_DOCS, name), 'utf8')

let bao: OpenbaoDevServer
const secrets = new Set<string>()
const tokens: Record<'operator' | 'reader', string> = {operator: '', reader: ''}

const admin = (method: string, path: string, body?: unknown) => baoAdmin(bao.address, bao.rootToken, method, path, body)

async function tokenWith(policy: string, more: Record<string, unknown> = {}): Promise<string> {
  const answer = await admin('POST', 'auth/token/create', {policies: [policy], ttl: '1h', ...more})
  const token = (answer.auth as {client_token: string}).client_token
  secrets.add(token)
  return token
}

/** A bot's AppRole with the bot policy: its role ID and a secret ID. */
async function botRole(): Promise<{roleId: string; secretId: string}> {
  await admin('POST', 'auth/approle/role/bot', {token_policies: ['mxtok-bot'], token_ttl: '10m'})
  const roleId = ((await admin('GET', 'auth/approle/role/bot/role-id')).data as {role_id: string}).role_id
  const secretId = ((await admin('POST', 'auth/approle/role/bot/secret-id')).data as {secret_id: string}).secret_id
  secrets.add(secretId)
  return {roleId, secretId}
}

beforeAll(async () => {
  bao = await startOpenbaoDev()
  secrets.add(bao.rootToken)
  for (const [name, file] of [
    ['mxtok-operator', 'operator.hcl'],
    ['mxtok-reader', 'reader.hcl'],
    ['mxtok-bot', 'bot.hcl'],
  ])
    await admin('PUT', `sys/policies/acl/${name}`, {policy: doc(file)})
  await admin('POST', 'sys/auth/approle', {type: 'approle'})
  tokens.operator = await tokenWith('mxtok-operator')
  tokens.reader = await tokenWith('mxtok-reader')
})

afterAll(async () => {
  await bao?.stop()
})

const client = (token: string, origin = 'BAO_TOKEN') => new VaultClient({settings: {address: new URL(bao.address)}, retryForMs: 2000}, token, origin)
const kvOf = (token: string) => new KvV2(client(token), 'secret')
const fields = (token: string) => ({access_token: token, user_id: '@bot:example.com', device_id: 'MXTOKBOT', homeserver: 'https://matrix.example.com'})

async function failure(p: Promise<unknown>): Promise<VaultError> {
  const error = await p.then(
    () => expect.unreachable('expected a refusal'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(VaultError)
  expect((error as VaultError).exitCode).toBe(9)
  return error as VaultError
}

describe('the policies of docs/openbao', () => {
  it('operator.hcl: every command: create, read, update, list and delete the sessions under the prefix', async () => {
    const op = client(tokens.operator)
    await op.requireCapabilities([
      {path: 'secret/data/mxtok/sessions/bot', capability: 'create'},
      {path: 'secret/data/mxtok/sessions/bot', capability: 'update'},
      {path: 'secret/metadata/mxtok/sessions/bot', capability: 'delete'},
      {path: 'secret/detailed-metadata/mxtok/sessions/', capability: 'list'},
    ])
    const kv = kvOf(tokens.operator)
    expect(await kv.write('mxtok/sessions/bot', fields('syt_bot_1'), 0)).toBe(1)
    expect(await kv.write('mxtok/sessions/other', fields('syt_other_1'), 0)).toBe(1)
    expect(await kv.write('mxtok/sessions/bot', fields('syt_bot_2'), 1)).toBe(2)
    expect((await kv.list('mxtok/sessions')).map((e) => [e.name, e.version])).toEqual([
      ['bot', 2],
      ['other', 1],
    ])
    await kv.write('mxtok/sessions/gone', fields('syt_gone'), 0)
    await kv.remove('mxtok/sessions/gone')
    expect(await kv.read('mxtok/sessions/gone')).toBeUndefined()
    // Nothing outside the prefix.
    expect((await failure(kv.write('elsewhere/x', {a: 'b'}, 0))).reason).toBe('denied')
  })

  it('reader.hcl: list and read; a write is refused beforehand in one line naming the path and the capability', async () => {
    const reader = client(tokens.reader)
    const kv = kvOf(tokens.reader)
    expect(await kv.read('mxtok/sessions/bot')).toEqual({data: fields('syt_bot_2'), version: 2})
    expect((await kv.list('mxtok/sessions')).map((e) => [e.name, e.version])).toEqual([
      ['bot', 2],
      ['other', 1],
    ])
    await reader.requireCapabilities([{path: 'secret/data/mxtok/sessions/bot', capability: 'read'}])
    const before = await failure(reader.requireCapabilities([{path: 'secret/data/mxtok/sessions/bot', capability: 'update'}]))
    expect(before.message).toBe(
      `OpenBao/Vault at ${new URL(bao.address).host} denied update on secret/data/mxtok/sessions/bot (the token's capabilities there: read): the token's policies lack the "update" capability there; ask for it, or use another token`,
    )
    expect((await failure(kv.write('mxtok/sessions/bot', fields('syt_nope'), 2))).message).toMatch(/denied update on secret\/data\/mxtok\/sessions\/bot /)
    expect((await failure(kv.remove('mxtok/sessions/bot'))).message).toMatch(/denied delete on secret\/metadata\/mxtok\/sessions\/bot /)
    expect(await kvOf(tokens.operator).read('mxtok/sessions/bot')).toEqual({data: fields('syt_bot_2'), version: 2})
  })

  it("bot.hcl, by AppRole: reads its own session's secret and nothing else", async () => {
    const {roleId, secretId} = await botRole()
    const login = await baoAdmin(bao.address, '', 'POST', 'auth/approle/login', {role_id: roleId, secret_id: secretId})
    const botToken = (login.auth as {client_token: string}).client_token
    secrets.add(botToken)
    const kv = kvOf(botToken)
    expect((await kv.read('mxtok/sessions/bot'))?.data.access_token).toBe('syt_bot_2')
    const other = await failure(kv.read('mxtok/sessions/other'))
    expect(other.reason).toBe('denied')
    expect(other.message).toMatch(/denied read on secret\/data\/mxtok\/sessions\/other /)
    expect((await failure(kv.write('mxtok/sessions/bot', fields('syt_mine'), 2))).reason).toBe('denied')
    expect(await client(botToken).capabilities(['secret/data/mxtok/sessions/bot', 'secret/metadata/mxtok/sessions/'])).toEqual({
      'secret/data/mxtok/sessions/bot': ['read'],
      'secret/metadata/mxtok/sessions/': ['deny'],
    })
  })
})

describe('doctor with MXTOK_VAULT', () => {
  const doctor = (env: Record<string, string>) => {
    const dir = tempDir('mxtok-vault-doctor-')
    return runCli(['doctor', ...(env.JSON ? ['--json'] : [])], {
      env: {
        HOME: dir,
        MXTOK_CONFIG_DIR: dir,
        MXTOK_STORE: 'file',
        MXTOK_PASSPHRASE: 'doctor passphrase',
        BAO_ADDR: bao.address,
        MXTOK_VAULT: 'secret/mxtok',
        ...env,
      },
    })
  }

  it("reports the engine: reachable, unsealed, the token's TTL and its capabilities on the prefix", async () => {
    // A reader may read the team home, not make sessions in it: the store it would make them in fails (exit 6), naming what is missing.
    const r = await doctor({BAO_TOKEN: tokens.reader})
    expect(r.code, r.stdout + r.stderr).toBe(6)
    expect(r.stdout).toMatch(/^FAIL store vault: .* denied create on secret\/data\/mxtok\/sessions\/ /m)
    const row = r.stdout.split('\n').find((l) => l.includes(' vault '))
    expect(row).toMatch(
      new RegExp(
        `^ok   vault secret/mxtok at 127\\.0\\.0\\.1:\\d+: version ${openbaoVersion().replace(/\./g, '\\.')}, unsealed; token from BAO_TOKEN expires in (59|60) min \\(renewable\\); capabilities on secret/data/mxtok/: read; secret/metadata/mxtok/: list, read$`,
      ),
    )
    const json = await doctor({BAO_TOKEN: tokens.operator, JSON: '1'})
    expect(json.code, json.stdout + json.stderr).toBe(0)
    expect(JSON.parse(json.stdout).engine).toMatchObject({
      location: 'secret/mxtok',
      ok: true,
      sealed: false,
      token: {origin: 'BAO_TOKEN', renewable: true},
      capabilities: {'secret/data/mxtok/': ['create', 'delete', 'read', 'update'], 'secret/metadata/mxtok/': ['delete', 'list', 'read', 'update']},
    })
    for (const s of secrets) expect(r.stdout + r.stderr + json.stdout + json.stderr).not.toContain(s)
  })

  it('a token the server does not know is FAIL and exit 9, in one line', async () => {
    const r = await doctor({BAO_TOKEN: 'not-a-token-of-this-server'})
    expect(r.code).toBe(9)
    expect(r.stdout).toMatch(/^FAIL vault secret\/mxtok at 127\.0\.0\.1:\d+ — .*does not accept the token from BAO_TOKEN/m)
  })
})

describe('the token renewer against OpenBao', () => {
  it('keeps a 2-second token alive for as long as it runs; once stopped, the token expires', async () => {
    const token = await tokenWith('mxtok-reader', {ttl: '2s', explicit_max_ttl: '1m'})
    const c = client(token, 'a test token')
    const warnings: string[] = []
    const renewal = startRenewal(c, (l) => warnings.push(l))
    await new Promise((r) => setTimeout(r, 5000))
    expect((await kvOf(token).read('mxtok/sessions/bot'))?.version).toBe(2)
    expect((await c.lookupSelf()).ttl).toBeGreaterThan(0)
    await renewal.stop()
    await new Promise((r) => setTimeout(r, 3000))
    expect((await failure(kvOf(token).read('mxtok/sessions/bot'))).reason).toBe('badToken')
    expect(warnings).toEqual([])
  })
})

describe('bao agent with docs/openbao/agent.hcl and bot-config.ctmpl', () => {
  it("renders the bot's configuration from its session, and again when the secret changes", async () => {
    const dir = tempDir('mxtok-agent-')
    const {roleId, secretId} = await botRole()
    writeFileSync(join(dir, 'role-id'), roleId)
    writeFileSync(join(dir, 'secret-id'), secretId, {mode: 0o600})

    const kv = kvOf(tokens.operator)
    const version = (await kv.read('mxtok/sessions/bot'))!.version
    await kv.write('mxtok/sessions/bot', fields('syt_agent_first'), version)
    const agent = startBaoAgent(dir, bao.address)
    try {
      await agent.until('rendered file', (text) => text.includes('syt_agent_first'))
      expect(readFileSync(agent.rendered, 'utf8')).toBe(
        'homeserver: "https://matrix.example.com"\nuser_id: "@bot:example.com"\ndevice_id: "MXTOKBOT"\naccess_token: "syt_agent_first"\n',
      )
      await kv.write('mxtok/sessions/bot', fields('syt_agent_second'), version + 1)
      await agent.until('re-render after the secret changed', (text) => text.includes('syt_agent_second'))
    } finally {
      await agent.stop()
    }
  })
})

describe('a sealed engine', () => {
  it('doctor says so in its row, FAIL and exit 9, without waiting for it', async () => {
    await admin('PUT', 'sys/seal')
    const dir = tempDir('mxtok-vault-doctor-')
    const started = performance.now()
    const r = await runCli(['doctor'], {
      env: {HOME: dir, MXTOK_CONFIG_DIR: dir, MXTOK_STORE: 'file', BAO_ADDR: bao.address, BAO_TOKEN: tokens.reader, MXTOK_VAULT: 'secret/mxtok'},
    })
    expect(r.code).toBe(9)
    expect(r.stdout).toMatch(
      /^FAIL vault secret\/mxtok at 127\.0\.0\.1:\d+ — OpenBao\/Vault at 127\.0\.0\.1:\d+ is sealed; unseal it \(bao operator unseal\) and run again$/m,
    )
    expect(performance.now() - started).toBeLessThan(5000)
  })
})
