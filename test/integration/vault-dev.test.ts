// The OpenBao/Vault client against a real OpenBao dev server: reads, check-and-set writes, lists,
// deletes, policies, AppRole, and what a run shows of its tokens (nothing).
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectVault} from '../../src/vault/client.js'
import {CasMismatch, VaultError} from '../../src/vault/errors.js'
import {KvV2} from '../../src/vault/kv.js'
import {baoAdmin, type OpenbaoDevServer, openbaoVersion, startOpenbaoDev} from '../support/openbao.js'

let bao: OpenbaoDevServer
const debugLines: string[] = []
const secretsSeen: string[] = []

beforeAll(async () => {
  bao = await startOpenbaoDev()
  secretsSeen.push(bao.rootToken)
  process.stderr.write(`OpenBao ${openbaoVersion()} dev server ready in ${(bao.startMs / 1000).toFixed(1)} s at ${bao.address}\n`)
})

afterAll(async () => {
  await bao?.stop()
})

const home = () => mkdtempSync(join(tmpdir(), 'mxtok-vault-home-'))
const env = (more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({HOME: home(), PATH: process.env.PATH, BAO_ADDR: bao.address, ...more})
const connect = (more: NodeJS.ProcessEnv = {}, retryForMs = 2000) => connectVault(env(more), {debug: (l) => debugLines.push(l), retryForMs})
const root = () => connect({BAO_TOKEN: bao.rootToken})
const admin = (method: string, path: string, body?: unknown) => baoAdmin(bao.address, bao.rootToken, method, path, body)

async function failure(p: Promise<unknown>): Promise<VaultError> {
  const error = await p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(VaultError)
  expect((error as VaultError).exitCode).toBe(9)
  return error as VaultError
}

/** A token of its own with only `policy`, made by the root token. */
async function tokenWith(name: string, policy: string): Promise<string> {
  await admin('PUT', `sys/policies/acl/${name}`, {policy})
  const answer = await admin('POST', 'auth/token/create', {policies: [name], ttl: '1h', no_default_policy: false})
  const token = (answer.auth as {client_token: string}).client_token
  secretsSeen.push(token)
  return token
}

describe('KV v2 on a real OpenBao', () => {
  it('writes with check-and-set, reads data and version, lists, deletes', async () => {
    const kv = new KvV2(await root(), 'secret')
    const fields = {access_token: 'syt_crud_token', user_id: '@bot:example.com', device_id: 'MXTOKCRUD', homeserver: 'https://matrix.example.com'}
    expect(await kv.write('crud/sessions/bot', fields, 0)).toBe(1)
    expect(await kv.read('crud/sessions/bot')).toEqual({data: fields, version: 1})
    expect(await kv.write('crud/sessions/bot', {...fields, device_id: 'OTHER'}, 1)).toBe(2)
    expect(await kv.read('crud/sessions/bot', 1)).toEqual({data: fields, version: 1})
    await kv.write('crud/sessions/team/one', {a: 'b'}, 0)
    expect(await kv.list('crud/sessions')).toEqual([
      {name: 'bot', folder: false, version: 2, updatedTime: expect.any(String), deleted: false},
      {name: 'team/', folder: true},
    ])
    await kv.remove('crud/sessions/bot')
    await kv.remove('crud/sessions/bot')
    expect(await kv.read('crud/sessions/bot')).toBeUndefined()
    await kv.remove('crud/sessions/team/one')
    expect(await kv.list('crud/sessions')).toEqual([])
    expect(await kv.list('crud/never-written')).toEqual([])
  })

  it('of two writers based on the same version, exactly one lands; the other gets CasMismatch and nothing of it is written', async () => {
    const [a, b] = [new KvV2(await root(), 'secret'), new KvV2(await root(), 'secret')]
    await a.write('race/sessions/bot', {n: '0'}, 0)
    const results = await Promise.allSettled([a.write('race/sessions/bot', {n: 'a'}, 1), b.write('race/sessions/bot', {n: 'b'}, 1)])
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
    expect(won).toHaveLength(1)
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(lost.reason).toBeInstanceOf(CasMismatch)
    expect(lost.reason.message).toBe(
      `secret/data/race/sessions/bot on ${new URL(bao.address).host} was changed by someone else meanwhile (it is no longer at version 1); nothing was written — run the command again`,
    )
    expect(await a.read('race/sessions/bot')).toEqual({data: {n: won[0] === 0 ? 'a' : 'b'}, version: 2})
    // cas 0 creates only: a second create of the same session is the same conflict.
    expect(await failure(b.write('race/sessions/bot', {n: 'c'}, 0))).toBeInstanceOf(CasMismatch)
  })

  it('a token whose policy may only read gets one line naming the path and the capability, before and at the write', async () => {
    const token = await tokenWith(
      'mxtok-read-only',
      'path "secret/data/ro/*" { capabilities = ["read"] }\npath "secret/metadata/ro/*" { capabilities = ["list"] }',
    )
    const kv = new KvV2(await root(), 'secret')
    await kv.write('ro/sessions/bot', {n: '1'}, 0)
    const reader = await connect({BAO_TOKEN: token})
    const limited = new KvV2(reader, 'secret')
    expect(await limited.read('ro/sessions/bot')).toEqual({data: {n: '1'}, version: 1})

    const before = await failure(reader.requireCapabilities([{path: 'secret/data/ro/sessions/bot', capability: 'update'}]))
    expect(before.reason).toBe('denied')
    expect(before.message).toMatch(
      /denied update on secret\/data\/ro\/sessions\/bot \(the token's capabilities there: read\): the token's policies lack the "update" capability there/,
    )
    await reader.requireCapabilities([{path: 'secret/data/ro/sessions/bot', capability: 'read'}])

    const at = await failure(limited.write('ro/sessions/bot', {n: '2'}, 1))
    expect(at.message).toBe(
      `OpenBao/Vault at ${new URL(bao.address).host} denied update on secret/data/ro/sessions/bot (permission denied): the token's policies lack the "update" capability there; ask for it, or use another token`,
    )
    expect((await failure(limited.write('ro/sessions/new', {n: '1'}, 0))).message).toMatch(/denied create on secret\/data\/ro\/sessions\/new/)
    // Its policy grants the plain list, not detailed-metadata: the list falls back to it.
    expect(await limited.list('ro/sessions')).toEqual([{name: 'bot', folder: false}])
    expect(await kv.read('ro/sessions/bot')).toEqual({data: {n: '1'}, version: 1})
  })

  it('a revoked token is told apart from a missing capability', async () => {
    const token = await tokenWith('mxtok-rw', 'path "secret/data/*" { capabilities = ["create", "read", "update"] }')
    const client = await connect({VAULT_TOKEN: token})
    await new KvV2(client, 'secret').write('revoked/sessions/bot', {n: '1'}, 0)
    await admin('POST', 'auth/token/revoke', {token})
    const error = await failure(new KvV2(client, 'secret').read('revoked/sessions/bot'))
    expect(error.reason).toBe('badToken')
    expect(error.message).toMatch(
      /does not accept the token from VAULT_TOKEN \(expired, revoked, or of another server or namespace\); log in again \(bao login\), or set BAO_TOKEN$/,
    )
  })

  it('logs in by AppRole with the secret ID from a file, renews and looks up its token', async () => {
    await admin('POST', 'sys/auth/approle', {type: 'approle'}).catch(() => {})
    await admin('PUT', 'sys/policies/acl/mxtok-bot', {policy: 'path "secret/data/approle/*" { capabilities = ["create", "read", "update"] }'})
    await admin('POST', 'auth/approle/role/mxtok', {token_policies: ['mxtok-bot'], token_ttl: '10m', token_max_ttl: '1h'})
    const roleId = ((await admin('GET', 'auth/approle/role/mxtok/role-id')).data as {role_id: string}).role_id
    const secretId = ((await admin('POST', 'auth/approle/role/mxtok/secret-id')).data as {secret_id: string}).secret_id
    secretsSeen.push(secretId)
    const dir = home()
    writeFileSync(join(dir, 'secret-id'), `${secretId}\n`, {mode: 0o600})

    const client = await connect({MXTOK_VAULT_ROLE_ID: roleId, MXTOK_VAULT_SECRET_ID_FILE: join(dir, 'secret-id')})
    expect(client.tokenOrigin).toBe('AppRole approle')
    expect(await new KvV2(client, 'secret').write('approle/sessions/bot', {n: '1'}, 0)).toBe(1)
    expect(await client.lookupSelf()).toMatchObject({renewable: true, policies: ['default', 'mxtok-bot']})
    expect((await client.renewSelf(600)).ttl).toBeGreaterThan(500)

    writeFileSync(join(dir, 'wrong'), 'not-the-secret-id')
    const error = await failure(connect({MXTOK_VAULT_ROLE_ID: roleId, MXTOK_VAULT_SECRET_ID_FILE: join(dir, 'wrong')}))
    expect(error.reason).toBe('badToken')
    expect(error.message).toMatch(
      /refused the AppRole login at auth\/approle\/login \(invalid role or secret ID\); check MXTOK_VAULT_ROLE_ID and the secret ID in .*wrong$/,
    )
    expect(error.message).not.toContain('not-the-secret-id')
  })

  it('finds the token as the CLI does: ~/.vault-token, or none, which says how to get one', async () => {
    const dir = home()
    writeFileSync(join(dir, '.vault-token'), bao.rootToken)
    const client = await connectVault({HOME: dir, BAO_ADDR: bao.address})
    expect(client.tokenOrigin).toBe(`token file ${join(dir, '.vault-token')}`)
    expect((await client.lookupSelf()).policies).toEqual(['root'])
    const none = await failure(connectVault({HOME: home(), BAO_ADDR: bao.address}))
    expect(none.message).toMatch(
      /^no token for OpenBao\/Vault at 127\.0\.0\.1:\d+: set BAO_TOKEN \(or VAULT_TOKEN\), log in with bao login, or set MXTOK_VAULT_ROLE_ID/,
    )
  })

  it('sys/health and sys/leader, for doctor', async () => {
    const client = await root()
    expect(await client.health()).toEqual({status: 200, initialized: true, sealed: false, standby: false, version: openbaoVersion()})
    expect(await client.leader()).toMatchObject({haEnabled: false})
  })

  it('no token or secret ID appears in any debug line of the file', () => {
    expect(debugLines.length).toBeGreaterThan(20)
    for (const secret of secretsSeen) expect(debugLines.filter((l) => l.includes(secret))).toEqual([])
  })
})
