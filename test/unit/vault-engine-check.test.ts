import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {checkEngine, describeEngine} from '../../src/vault/engine-check.js'

const ADDR = 'https://vault.example:8200'
const TOKEN = 's.ENGINECHECKTOKEN'
const env = (more: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: '/nonexistent',
  BAO_ADDR: ADDR,
  BAO_TOKEN: TOKEN,
  MXTOK_VAULT: 'secret/team/mxtok',
  ...more,
})
const health = (status: number, more: Record<string, unknown> = {}) =>
  nock(ADDR)
    .get('/v1/sys/health')
    .reply(status, {initialized: true, sealed: false, standby: status === 429, version: '2.7.2', ...more})

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

describe("doctor's check of the OpenBao/Vault server", () => {
  it("reports a standby's version, the token's origin and TTL, and its capabilities on the prefix", async () => {
    health(429)
    nock(ADDR)
      .get('/v1/auth/token/lookup-self')
      .reply(200, {data: {ttl: 7200, renewable: true, policies: ['default', 'mxtok-reader']}})
    nock(ADDR)
      .post('/v1/sys/capabilities-self', {paths: ['secret/data/team/mxtok/', 'secret/metadata/team/mxtok/']})
      .reply(200, {data: {'secret/data/team/mxtok/': ['read'], 'secret/metadata/team/mxtok/': []}})
    const check = await checkEngine(env())
    expect(check).toMatchObject({ok: true, host: 'vault.example:8200', standby: true, token: {origin: 'BAO_TOKEN', ttlSeconds: 7200, renewable: true}})
    expect(describeEngine(check)).toBe(
      'vault secret/team/mxtok at vault.example:8200: version 2.7.2, unsealed, a standby; token from BAO_TOKEN expires in 2 h (renewable); capabilities on secret/data/team/mxtok/: read; secret/metadata/team/mxtok/: none',
    )
    expect(JSON.stringify(check)).not.toContain(TOKEN)
  })

  it('a token that does not expire says so', async () => {
    health(200)
    nock(ADDR)
      .get('/v1/auth/token/lookup-self')
      .reply(200, {data: {ttl: 0, renewable: false, policies: ['root']}})
    nock(ADDR)
      .post('/v1/sys/capabilities-self')
      .reply(200, {data: {'secret/data/team/mxtok/': ['root'], 'secret/metadata/team/mxtok/': ['root']}})
    expect(describeEngine(await checkEngine(env()))).toMatch(/; token from BAO_TOKEN does not expire; capabilities on secret\/data\/team\/mxtok\/: root;/)
  })

  it('a sealed server is a problem, found without a token; so are a missing token and a bad MXTOK_VAULT', async () => {
    health(503, {sealed: true})
    const sealed = await checkEngine(env({BAO_TOKEN: undefined}))
    expect(sealed).toMatchObject({ok: false, sealed: true})
    expect(describeEngine(sealed)).toBe(
      'vault secret/team/mxtok at vault.example:8200 — OpenBao/Vault at vault.example:8200 is sealed; unseal it (bao operator unseal) and run again',
    )
    health(200)
    expect((await checkEngine(env({BAO_TOKEN: undefined}))).problem).toMatch(/^no token for OpenBao\/Vault at vault\.example:8200: set BAO_TOKEN/)
    const bad = await checkEngine(env({MXTOK_VAULT: 'secret'}))
    expect(describeEngine(bad)).toBe(
      'vault secret — "secret" is not a MOUNT/PREFIX for OpenBao/Vault; give the KV version 2 mount and a folder in it, e.g. secret/mxtok',
    )
  })
})
