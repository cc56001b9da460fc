import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import type {Session} from '../../src/registry/session.js'
import {authorName, readSessionFields, recordCopy, secretOf, sessionFields, tokenFields} from '../../src/teamhome/layout.js'
import {TeamStore} from '../../src/teamhome/team-store.js'
import {VaultRegistry} from '../../src/teamhome/vault-registry.js'
import {connectVault} from '../../src/vault/client.js'
import {VaultError} from '../../src/vault/errors.js'

const ADDR = 'https://vault.example:8200'
const TOKEN = 's.VAULTTOKENSECRET'
const DATA = '/v1/secret/data/mxtok/sessions/bot'
const PENDING = '/v1/secret/detailed-metadata/mxtok/pending/'
const SESSION: Session = {
  name: 'bot',
  userId: '@bot:example.com',
  homeserver: 'https://matrix.example.com',
  deviceId: 'MXTOKDEV1',
  createdAt: '2026-12-01T00:00:00.000Z',
  store: 'vault',
  auth: 'password',
}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

const env = {HOME: '/nonexistent', BAO_ADDR: ADDR, BAO_TOKEN: TOKEN}
const registry = () =>
  new VaultRegistry(
    {mount: 'secret', prefix: 'mxtok'},
    () => connectVault(env),
    () => {},
    'ops@host',
  )
const registryWarning = (warnings: string[]) =>
  new VaultRegistry(
    {mount: 'secret', prefix: 'mxtok'},
    () => connectVault(env),
    (w) => warnings.push(w),
    'ops@host',
  )
const vault = () => nock(ADDR, {reqheaders: {'x-vault-token': TOKEN}})
const at = (data: Record<string, unknown>, version: number) => ({data: {data, metadata: {version}}})
const CAS_MISMATCH = {errors: ['check-and-set parameter did not match the current version']}

describe('a session in the team home, as fields', () => {
  it('reads back as the session and its secret, whatever the kind of token', () => {
    const pair = JSON.stringify({access_token: 'mat_a', refresh_token: 'mar_r', expires_at: '2026-12-07T03:00:00.000Z'})
    const oauth: Session = {
      ...SESSION,
      auth: 'oauth',
      oauth: {issuer: 'https://auth.example.com/', clientId: 'c1', tokenEndpoint: 'https://auth.example.com/token'},
    }
    for (const [session, secret] of [
      [SESSION, 'syt_bare'],
      [oauth, pair],
      [SESSION, null],
    ] as const) {
      const fields = sessionFields(session, secret, undefined, 'ops@host')
      expect(Object.values(fields).every((v) => typeof v === 'string')).toBe(true)
      expect(readSessionFields('bot', fields)).toEqual({kind: 'session', session, secret})
    }
    expect(tokenFields(pair)).toEqual({access_token: 'mat_a', mxtok_refresh_token: 'mar_r', mxtok_access_expires_at: '2026-12-07T03:00:00.000Z'})
    expect(secretOf({user_id: '@a:hs'})).toBeNull()
  })

  it("reads back MAS's kinds too: an admin user's grant, an admin client's session with its secret, a personal token", () => {
    const grant = {issuer: 'https://auth.example.com/', clientId: 'c1', tokenEndpoint: 'https://auth.example.com/token', admin: true as const}
    const masAdmin: Session = {...SESSION, auth: 'oauth', oauth: grant}
    const client = {...SESSION, auth: 'client', userId: 'client:c1', deviceId: 'CLIENTABCDEFGHIJKL', oauth: grant} as Session
    const personal: Session = {...SESSION, auth: 'personal', personal: {id: '01FSHN9AG07HNEZXNQM2KNBNF6', admin: 'root'}, expiresAt: '2027-01-01T00:00:00.000Z'}
    const clientSecret = JSON.stringify({access_token: 'mat_c', client_secret: 'shh', expires_at: '2026-12-07T03:00:00.000Z'})
    for (const [session, secret] of [
      [masAdmin, JSON.stringify({access_token: 'mat_a', refresh_token: 'mar_r', expires_at: null})],
      [client, clientSecret],
      [personal, 'mpt_token'],
    ] as const) {
      const fields = sessionFields(session, secret, undefined, 'ops@host')
      expect(Object.values(fields).every((v) => typeof v === 'string')).toBe(true)
      expect(readSessionFields('bot', fields)).toEqual({kind: 'session', session, secret})
    }
    // A bot reads access_token alone; the client secret is in a field of its own, never in the record's copy.
    const fields = sessionFields(client, clientSecret, undefined, 'ops@host')
    expect(fields).toMatchObject({access_token: 'mat_c', mxtok_client_secret: 'shh'})
    expect(Object.values(recordCopy(fields, 1))).not.toContain('shh')
  })

  it('keeps fields others added and who made the session, and names a secret of another layout as damaged', () => {
    const first = sessionFields(SESSION, 'syt_a', {owner_team: 'ops'}, 'ops@host')
    expect(first).toMatchObject({owner_team: 'ops', mxtok_created_by: 'ops@host', access_token: 'syt_a', device_id: 'MXTOKDEV1', mxtok_layout: '2'})
    expect(sessionFields(SESSION, 'syt_b', first, 'other@laptop').mxtok_created_by).toBe('ops@host')
    expect(readSessionFields('bot', {access_token: 'syt_a', mxtok_layout: '1'})).toMatchObject({kind: 'damaged'})
    expect(readSessionFields('bot', {mxtok_layout: '2', mxtok_deleted_at: 'x'})).toEqual({kind: 'deleted'})
  })
})

describe('who made a session', () => {
  it("names the engine's identity of the token as OpenBao 2.7 gives it, and the machine", () => {
    // lookup-self of a userpass login, an AppRole login, a token made by auth/token/create (the dev server's root too), one with a display name.
    expect(authorName({displayName: 'userpass-alice', meta: {username: 'alice'}}, 'alice@laptop')).toBe('userpass-alice (alice@laptop)')
    expect(authorName({displayName: 'approle', meta: {role_name: 'deployer'}}, 'ci@runner')).toBe('approle-deployer (ci@runner)')
    expect(authorName({displayName: 'token', meta: {}}, 'ops@host')).toBe('token (ops@host)')
    expect(authorName({displayName: 'token-ops-ci', meta: {}}, 'ops@host')).toBe('token-ops-ci (ops@host)')
    expect(authorName({displayName: '', meta: {}}, 'ops@host')).toBe('token (ops@host)')
  })
})

describe('an update of the team home', () => {
  it('records a session with its token in one check-and-set write on the version read', async () => {
    const home = registry()
    const scope = vault()
      .get(DATA)
      .reply(404, {errors: []})
      .get(PENDING)
      .query(true)
      .reply(404, {errors: []})
      // Who writes a new session: the engine's name for the token, asked once.
      .get('/v1/auth/token/lookup-self')
      .reply(200, {data: {display_name: 'userpass-alice', meta: {username: 'alice'}, ttl: 0}})
      .post(DATA, {data: sessionFields(SESSION, 'syt_new', undefined, 'userpass-alice (ops@host)') as Record<string, string>, options: {cas: 0}})
      .reply(200, {data: {version: 1}})
      // Then the record's copy, without the token, for list.
      .post('/v1/secret/metadata/mxtok/sessions/bot', {
        custom_metadata: recordCopy(sessionFields(SESSION, 'syt_new', undefined, 'userpass-alice (ops@host)'), 1),
      })
      .reply(204)
    await home.update(
      async (sessions) => {
        await new TeamStore(home).set('@bot:example.com/MXTOKDEV1', 'syt_new')
        sessions.set('bot', SESSION)
      },
      {sessions: ['bot']},
    )
    scope.done()
    // What was written is what the store then answers, without asking the server again.
    expect(await new TeamStore(home).get('@bot:example.com/MXTOKDEV1')).toBe('syt_new')
  })

  it('applies the change again to what another writer left, then stops after its tries with one line, exit 9', async () => {
    let version = 1
    const scope = vault()
      .persist()
      .get(DATA)
      .reply(() => [200, at(sessionFields(SESSION, 'syt_a', undefined, 'ops@host'), version++)])
      .get(PENDING)
      .query(true)
      .reply(404, {errors: []})
      .post(DATA)
      .reply(400, CAS_MISMATCH)
    let applied = 0
    const error = await registry()
      .update(
        (sessions) => {
          applied++
          sessions.set('bot', {...SESSION, expiresAt: '2027-01-01T00:00:00.000Z'})
        },
        {sessions: ['bot']},
      )
      .then(
        () => expect.unreachable('expected a failure'),
        (e: unknown) => e as VaultError,
      )
    scope.persist(false)
    expect(applied).toBe(6)
    expect(error).toBeInstanceOf(VaultError)
    expect(error.exitCode).toBe(9)
    expect(error.message).toBe(
      'secret/data/mxtok/sessions/bot kept being changed by other runs (6 tries); what this run had not written yet was not written — run the command again',
    )
    expect(error.message).not.toContain(TOKEN)
  })
})

describe('a removal from the team home', () => {
  const METADATA = '/v1/secret/metadata/mxtok/sessions/bot'
  const claiming = (body: {data: Record<string, unknown>}) =>
    typeof body.data.mxtok_deleted_at === 'string' && typeof body.data.mxtok_claim === 'string' && body.data.mxtok_claim.endsWith(' approle-ops (ops@host)')
  /** A removal of session "bot" at version 3, up to its last version, 4, which claims the name for the AppRole's run. */
  const removalUpToClaim = () =>
    vault()
      .get(DATA)
      .reply(200, at(sessionFields(SESSION, 'syt_a', undefined, 'ops@host'), 3))
      .get(PENDING)
      .query(true)
      .reply(404, {errors: []})
      .get('/v1/auth/token/lookup-self')
      .reply(200, {data: {display_name: 'approle', meta: {role_name: 'ops'}, ttl: 600}})
      .post(DATA, (body) => claiming(body) && body.options.cas === 3)
      .reply(200, {data: {version: 4}})

  it('deletes the key while its claiming last version is still the current one', async () => {
    const warnings: string[] = []
    const scope = removalUpToClaim()
      .post('/v1/secret/destroy/mxtok/sessions/bot', {versions: [1, 2, 3]})
      .reply(204)
      .get(METADATA)
      .reply(200, {data: {current_version: 4}})
      .delete(METADATA)
      .reply(204)
    await registryWarning(warnings).update((sessions) => void sessions.delete('bot'), {sessions: ['bot']})
    scope.done()
    expect(warnings).toEqual([])
  })

  it('never deletes a key that a session was written on meanwhile, and frees the name of its claim', async () => {
    const warnings: string[] = []
    const scope = removalUpToClaim()
      .post('/v1/secret/destroy/mxtok/sessions/bot')
      .reply(204)
      .get(METADATA)
      .reply(200, {data: {current_version: 5}})
      // The claim is taken off on the removal's own version only: here it is refused, and nothing else is sent.
      .post(DATA, (body) => body.data.mxtok_claim === undefined && body.options.cas === 4)
      .reply(400, CAS_MISMATCH)
      .get(DATA)
      .reply(200, at(sessionFields(SESSION, 'syt_b', undefined, 'ops@other'), 5))
    await registryWarning(warnings).update((sessions) => void sessions.delete('bot'), {sessions: ['bot']})
    scope.done()
    expect(warnings).toEqual([])
  })

  it('waits for a removal under way before writing a session on its name, then writes it anew', async () => {
    let reads = 0
    const scope = vault()
      .get(DATA)
      .times(3)
      .reply(() => {
        reads++
        if (reads < 3) return [200, at({mxtok_layout: '2', mxtok_deleted_at: 'x', mxtok_claim: `${new Date(Date.now() + 10_000).toISOString()} ops@other`}, 4)]
        return [404, {errors: []}]
      })
      .get(PENDING)
      .query(true)
      .times(3)
      .reply(404, {errors: []})
      .get('/v1/auth/token/lookup-self')
      .reply(200, {data: {display_name: 'token', meta: null, ttl: 0}})
      .post(DATA, (body) => body.options.cas === 0 && body.data.mxtok_created_by === 'token (ops@host)')
      .reply(200, {data: {version: 1}})
      .post(METADATA)
      .reply(204)
    await registry().update((sessions) => void sessions.set('bot', SESSION), {sessions: ['bot']})
    scope.done()
    expect(reads).toBe(3)
  })
})

describe('a list of the team home', () => {
  it("takes each record from its copy while the copy is of the secret's current version, and reads the secrets whose copy is stale or missing", async () => {
    const fresh = sessionFields({...SESSION, name: 'fresh', deviceId: 'DEVFRESH'}, 'syt_f', undefined, 'ops@host')
    const edited = sessionFields({...SESSION, name: 'edited', deviceId: 'DEVEDITED'}, 'syt_e', undefined, 'ops@host')
    const scope = vault()
      .get('/v1/secret/detailed-metadata/mxtok/sessions/')
      .query(true)
      .reply(200, {
        data: {
          keys: ['edited', 'fresh', 'plain'],
          key_info: {
            fresh: {current_version: 3, custom_metadata: recordCopy(fresh, 3), versions: {'3': {deletion_time: '', destroyed: false}}},
            // Someone wrote the secret after mxtok: its copy is of version 1, and is not believed.
            edited: {current_version: 2, custom_metadata: recordCopy({...edited, homeserver: 'https://old.example.com'}, 1), versions: {}},
            plain: {current_version: 1, versions: {}},
          },
        },
      })
      .get('/v1/secret/data/mxtok/sessions/edited')
      .reply(200, at(edited, 2))
      .get('/v1/secret/data/mxtok/sessions/plain')
      .reply(200, at(sessionFields({...SESSION, name: 'plain', deviceId: 'DEVPLAIN'}, 'syt_p', undefined, 'ops@host'), 1))
    const home = registry()
    const sessions = await home.list()
    scope.done()
    expect(sessions.map((s) => [s.name, s.homeserver])).toEqual([
      ['edited', SESSION.homeserver],
      ['fresh', SESSION.homeserver],
      ['plain', SESSION.homeserver],
    ])
    // The token of a session listed from its copy is read when it is asked for.
    const read = vault().get('/v1/secret/data/mxtok/sessions/fresh').reply(200, at(fresh, 3))
    expect(await new TeamStore(home).get('@bot:example.com/DEVFRESH')).toBe('syt_f')
    read.done()
  })
})
