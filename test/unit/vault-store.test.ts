import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {MxtokError} from '../../src/errors.js'
import {secretFields, secretOf, VaultStore, vaultPath} from '../../src/store/vault-store.js'
import {CasMismatch, VaultError} from '../../src/vault/errors.js'

const ADDR = 'https://vault.example:8200'
const TOKEN = 's.VAULTTOKENSECRET'
const ACCOUNT = '@bot:example.com/MXTOKDEV1'
const DATA = '/v1/secret/data/mxtok/sessions/%40bot%3Aexample.com/MXTOKDEV1'
const METADATA = '/v1/secret/metadata/mxtok/sessions/%40bot%3Aexample.com/MXTOKDEV1'
const ABOUT = {userId: '@bot:example.com', deviceId: 'MXTOKDEV1', homeserver: 'https://matrix.example.com'}
const BOT_FIELDS = {user_id: '@bot:example.com', device_id: 'MXTOKDEV1', homeserver: 'https://matrix.example.com', mxtok_layout: '1'}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

const store = (more: NodeJS.ProcessEnv = {}) => new VaultStore({HOME: '/nonexistent', BAO_ADDR: ADDR, BAO_TOKEN: TOKEN, MXTOK_VAULT: 'secret/mxtok', ...more})
const vault = () => nock(ADDR, {reqheaders: {'x-vault-token': TOKEN}})
const secretAt = (data: Record<string, string>, version: number) => ({data: {data, metadata: {version}}})

async function failure(p: Promise<unknown>): Promise<MxtokError> {
  const error = await p.then(
    () => expect.unreachable('expected a failure'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(MxtokError)
  expect((error as Error).message).not.toContain(TOKEN)
  return error as MxtokError
}

describe('the path of an account in OpenBao/Vault', () => {
  it('is PREFIX/sessions/USER_ID/DEVICE_ID under the mount', () => {
    expect(vaultPath({mount: 'secret', prefix: 'mxtok'}, ACCOUNT)).toBe('mxtok/sessions/@bot:example.com/MXTOKDEV1')
    expect(vaultPath({mount: 'kv', prefix: 'teams/ops'}, '@a:hs/D')).toBe('teams/ops/sessions/@a:hs/D')
  })

  it('refuses an account that would climb out of the folder or name no secret', () => {
    for (const account of ['@a:hs/..', '@a:hs/.', '@a:hs/', '@a:hs/../../other/D']) {
      expect(() => vaultPath({mount: 'secret', prefix: 'mxtok'}, account)).toThrow(/cannot be named as a path/)
    }
  })
})

describe('a secret as fields', () => {
  it('keeps a bare token as access_token, and a pair in fields of their own that read back as the same text', () => {
    expect(secretFields('syt_bare')).toEqual({access_token: 'syt_bare'})
    const pair = JSON.stringify({access_token: 'mat_a', refresh_token: 'mar_r', expires_at: '2026-12-07T03:00:00.000Z'})
    expect(secretFields(pair)).toEqual({access_token: 'mat_a', mxtok_refresh_token: 'mar_r', mxtok_expires_at: '2026-12-07T03:00:00.000Z'})
    expect(secretOf(secretFields(pair))).toBe(pair)
    const noEnd = JSON.stringify({access_token: 'mat_a', refresh_token: 'mar_r', expires_at: null})
    expect(secretFields(noEnd)).toEqual({access_token: 'mat_a', mxtok_refresh_token: 'mar_r'})
    expect(secretOf(secretFields(noEnd))).toBe(noEnd)
  })

  it('keeps what is not a pair as it came, for the reader to judge', () => {
    for (const odd of ['{not json', '{"access_token":"a"}', '{"refresh_token":"r","access_token":"a","expires_at":null}']) {
      expect(secretOf(secretFields(odd))).toBe(odd)
    }
    expect(secretOf({user_id: '@a:hs'})).toBeNull()
  })
})

describe('the vault store', () => {
  it('creates a new secret with cas 0 and the fields a bot reads', async () => {
    const scope = vault()
      .get(DATA)
      .reply(404, {errors: []})
      .post(DATA, {data: {access_token: 'syt_new', ...BOT_FIELDS}, options: {cas: 0}})
      .reply(200, {data: {version: 1}})
    await store().set(ACCOUNT, 'syt_new', ABOUT)
    scope.done()
  })

  it('without being told whose token it is, writes user and device from the account and no homeserver', async () => {
    const scope = vault()
      .get(DATA)
      .reply(404, {errors: []})
      .post(DATA, {data: {access_token: 'syt_new', ...BOT_FIELDS, homeserver: ''}, options: {cas: 0}})
      .reply(200, {data: {version: 1}})
    await store().set(ACCOUNT, 'syt_new')
    scope.done()
  })

  it('replaces a secret with cas on the version read, keeping fields others added and dropping a pair it no longer holds', async () => {
    const before = {access_token: 'mat_old', mxtok_refresh_token: 'mar_old', mxtok_expires_at: 'x', ...BOT_FIELDS, owner_team: 'ops'}
    const scope = vault()
      .get(DATA)
      .reply(200, secretAt(before, 4))
      .post(DATA, {data: {owner_team: 'ops', access_token: 'syt_next', ...BOT_FIELDS}, options: {cas: 4}})
      .reply(200, {data: {version: 5}})
    // Without `about`, who the secret is of is kept from the secret.
    await store().set(ACCOUNT, 'syt_next')
    scope.done()
  })

  it('fails, exit 9, when someone else wrote between the read and the write, and does not write again', async () => {
    const scope = vault()
      .get(DATA)
      .reply(200, secretAt({access_token: 'syt_a', ...BOT_FIELDS}, 2))
      .post(DATA)
      .reply(400, {errors: ['check-and-set parameter did not match the current version']})
      .get(DATA)
      .reply(200, secretAt({access_token: 'syt_other', ...BOT_FIELDS}, 3))
    const error = await failure(store().set(ACCOUNT, 'syt_b', ABOUT))
    expect(error).toBeInstanceOf(CasMismatch)
    expect(error.exitCode).toBe(9)
    expect(error.message).toContain('secret/data/mxtok/sessions/%40bot%3Aexample.com/MXTOKDEV1')
    scope.done()
  })

  it('reads the token, or a pair as the other stores keep it; null where there is none', async () => {
    const scope = vault()
      .get(DATA)
      .reply(200, secretAt({access_token: 'mat_a', mxtok_refresh_token: 'mar_r', ...BOT_FIELDS}, 1))
      .get(DATA)
      .reply(404, {errors: []})
    expect(await store().get(ACCOUNT)).toBe(JSON.stringify({access_token: 'mat_a', refresh_token: 'mar_r', expires_at: null}))
    expect(await store().get(ACCOUNT)).toBeNull()
    scope.done()
  })

  it('deletes every version and the metadata, saying whether there was a secret', async () => {
    const scope = vault()
      .get(DATA)
      .reply(200, secretAt({access_token: 'syt_a', ...BOT_FIELDS}, 1))
      .delete(METADATA)
      .reply(204)
      .get(DATA)
      .reply(404, {errors: []})
      .delete(METADATA)
      .reply(204)
    expect(await store().delete(ACCOUNT)).toBe(true)
    expect(await store().delete(ACCOUNT)).toBe(false)
    scope.done()
  })

  it('checks that the server is unsealed and the token may create, read, update and delete under the prefix', async () => {
    const paths = ['secret/data/mxtok/sessions/', 'secret/metadata/mxtok/sessions/']
    const scope = nock(ADDR)
      .get('/v1/sys/health')
      .reply(200, {initialized: true, sealed: false, standby: false, version: '2.7.2'})
      .post('/v1/sys/capabilities-self', {paths})
      .reply(200, {data: {[paths[0]]: ['create', 'read', 'update'], [paths[1]]: ['delete', 'list']}})
    await store().check()
    scope.done()
  })

  it('names the path and the capability the token lacks', async () => {
    const paths = ['secret/data/mxtok/sessions/', 'secret/metadata/mxtok/sessions/']
    nock(ADDR)
      .get('/v1/sys/health')
      .reply(200, {initialized: true, sealed: false, standby: false, version: '2.7.2'})
      .post('/v1/sys/capabilities-self')
      .reply(200, {data: {[paths[0]]: ['create', 'read'], [paths[1]]: ['delete']}})
    const error = await failure(store().check())
    expect(error).toBeInstanceOf(VaultError)
    expect(error.exitCode).toBe(9)
    expect(error.message).toMatch(/secret\/data\/mxtok\/sessions\/.*update/)
  })

  it('says a sealed server is sealed', async () => {
    nock(ADDR).get('/v1/sys/health').reply(503, {initialized: true, sealed: true, standby: true, version: '2.7.2'})
    const error = await failure(store().check())
    expect(error.exitCode).toBe(9)
    expect(error.message).toBe('OpenBao/Vault at vault.example:8200 is sealed; unseal it (bao operator unseal) and run again')
  })

  it('without MXTOK_VAULT, says how to name the place, asking the server nothing', async () => {
    const error = await failure(store({MXTOK_VAULT: undefined}).get(ACCOUNT))
    expect(error.exitCode).toBe(2)
    expect(error.message).toContain('MXTOK_VAULT=MOUNT/PREFIX')
    const bad = await failure(store({MXTOK_VAULT: 'secret'}).get(ACCOUNT))
    expect(bad.message).toContain('is not a MOUNT/PREFIX')
  })
})
