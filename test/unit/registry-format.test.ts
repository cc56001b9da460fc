import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {REGISTRY_FILE, SessionRegistry} from '../../src/registry/registry.js'
import type {AdminLoginKey, PendingLogin, Session} from '../../src/registry/session.js'
import {pendingFields, readPendingFields} from '../../src/teamhome/layout.js'

// sessions.json as mxtok 0.1 writes it, with every kind of session and of pending login, each
// field where its create put it: a later mxtok reads it, and writes it back, unchanged.
const RELEASED = `{
  "version": 1,
  "sessions": {
    "admin-forever": {
      "userId": "@bot:hs.example",
      "homeserver": "https://hs.example",
      "deviceId": "ADMINQRSTUVWXYZ23",
      "createdAt": "2026-01-02T00:00:00.000Z",
      "store": "keychain",
      "auth": "admin",
      "admin": {
        "by": "@root:hs.example"
      }
    },
    "admin-login": {
      "userId": "@bot:hs.example",
      "homeserver": "https://hs.example",
      "deviceId": "ADMINABCDEFGHIJKL",
      "createdAt": "2026-01-02T00:00:00.000Z",
      "store": "keychain",
      "auth": "admin",
      "admin": {
        "by": "@root:hs.example"
      },
      "expiresAt": "2026-02-01T00:00:00.000Z"
    },
    "expiring": {
      "userId": "@bot:hs.example",
      "homeserver": "https://hs.example",
      "deviceId": "MXTOKEXPIRING01",
      "createdAt": "2026-01-01T00:00:00.000Z",
      "store": "file",
      "expiresAt": "2026-01-01T00:05:00.000Z"
    },
    "imported": {
      "userId": "@bot:hs.example",
      "homeserver": "http://127.0.0.1:8008",
      "deviceId": "ELEMENTDEVICE",
      "createdAt": "2026-01-01T00:00:00.000Z",
      "store": "keychain"
    },
    "mas": {
      "userId": "@bot:hs.example",
      "homeserver": "https://hs.example",
      "deviceId": "MXTOKOAUTHDEV01",
      "createdAt": "2026-01-01T00:00:00.000Z",
      "store": "keychain",
      "auth": "oauth",
      "oauth": {
        "issuer": "https://auth.hs.example/",
        "clientId": "01JCLIENT",
        "tokenEndpoint": "https://auth.hs.example/oauth2/token",
        "revocationEndpoint": "https://auth.hs.example/oauth2/revoke"
      }
    },
    "mas-norevoke": {
      "userId": "@bot:hs.example",
      "homeserver": "https://hs.example",
      "deviceId": "MXTOKOAUTHDEV02",
      "createdAt": "2026-01-01T00:00:00.000Z",
      "store": "file",
      "auth": "oauth",
      "oauth": {
        "issuer": "https://auth.hs.example/",
        "clientId": "01JCLIENT",
        "tokenEndpoint": "https://auth.hs.example/oauth2/token"
      }
    },
    "password": {
      "userId": "@bot:hs.example",
      "homeserver": "https://hs.example",
      "deviceId": "MXTOKPASSWORD01",
      "createdAt": "2026-01-01T00:00:00.000Z",
      "store": "keychain"
    }
  },
  "pending": {
    "@bot:hs.example/ADMINABCDEFGHIJKM": {
      "name": "admin-next",
      "userId": "@bot:hs.example",
      "deviceId": "ADMINABCDEFGHIJKM",
      "homeserver": "https://hs.example",
      "store": "keychain",
      "since": "2026-01-03T00:00:00.000Z",
      "admin": {
        "by": "@root:hs.example",
        "session": "root",
        "expiresAt": "2026-02-02T00:00:00.000Z"
      }
    },
    "@bot:hs.example/ADMINNEVER0000000": {
      "name": "admin-never",
      "userId": "@bot:hs.example",
      "deviceId": "ADMINNEVER0000000",
      "homeserver": "https://hs.example",
      "store": "file",
      "since": "2026-01-03T00:00:00.000Z",
      "admin": {
        "by": "@root:hs.example",
        "session": "root"
      }
    },
    "@bot:hs.example/MXTOKOAUTHDEV03": {
      "userId": "@bot:hs.example",
      "deviceId": "MXTOKOAUTHDEV03",
      "homeserver": "https://hs.example",
      "store": "keychain",
      "since": "2026-01-03T00:00:00.000Z",
      "oauth": {
        "issuer": "https://auth.hs.example/",
        "clientId": "01JCLIENT",
        "tokenEndpoint": "https://auth.hs.example/oauth2/token",
        "revocationEndpoint": "https://auth.hs.example/oauth2/revoke"
      }
    },
    "@bot:hs.example/MXTOKOLDPENDING": {
      "userId": "@bot:hs.example",
      "deviceId": "MXTOKOLDPENDING",
      "homeserver": "https://hs.example",
      "store": "keychain",
      "since": "2025-06-01T00:00:00.000Z"
    },
    "@bot:hs.example/MXTOKPASSWORD02": {
      "name": "password-next",
      "userId": "@bot:hs.example",
      "deviceId": "MXTOKPASSWORD02",
      "homeserver": "https://hs.example",
      "store": "keychain",
      "since": "2026-01-03T00:00:00.000Z"
    },
    "bot/MXTOKPROBE00001": {
      "name": "by-localpart",
      "userId": "bot",
      "deviceId": "MXTOKPROBE00001",
      "homeserver": "https://hs.example",
      "store": "keychain",
      "since": "2026-01-03T00:00:00.000Z"
    }
  }
}
`

const GRANT = {issuer: 'https://auth.hs.example/', clientId: '01JCLIENT', tokenEndpoint: 'https://auth.hs.example/oauth2/token'}
const at = {userId: '@bot:hs.example', homeserver: 'https://hs.example'}

const SESSIONS: Session[] = [
  {
    name: 'admin-forever',
    ...at,
    deviceId: 'ADMINQRSTUVWXYZ23' as AdminLoginKey,
    createdAt: '2026-01-02T00:00:00.000Z',
    store: 'keychain',
    auth: 'admin',
    admin: {by: '@root:hs.example'},
  },
  {
    name: 'admin-login',
    ...at,
    deviceId: 'ADMINABCDEFGHIJKL' as AdminLoginKey,
    createdAt: '2026-01-02T00:00:00.000Z',
    store: 'keychain',
    auth: 'admin',
    admin: {by: '@root:hs.example'},
    expiresAt: '2026-02-01T00:00:00.000Z',
  },
  {
    name: 'expiring',
    ...at,
    deviceId: 'MXTOKEXPIRING01',
    createdAt: '2026-01-01T00:00:00.000Z',
    store: 'file',
    auth: 'password',
    expiresAt: '2026-01-01T00:05:00.000Z',
  },
  {
    name: 'imported',
    userId: '@bot:hs.example',
    homeserver: 'http://127.0.0.1:8008',
    deviceId: 'ELEMENTDEVICE',
    createdAt: '2026-01-01T00:00:00.000Z',
    store: 'keychain',
    auth: 'password',
  },
  {
    name: 'mas',
    ...at,
    deviceId: 'MXTOKOAUTHDEV01',
    createdAt: '2026-01-01T00:00:00.000Z',
    store: 'keychain',
    auth: 'oauth',
    oauth: {...GRANT, revocationEndpoint: 'https://auth.hs.example/oauth2/revoke'},
  },
  {name: 'mas-norevoke', ...at, deviceId: 'MXTOKOAUTHDEV02', createdAt: '2026-01-01T00:00:00.000Z', store: 'file', auth: 'oauth', oauth: GRANT},
  {name: 'password', ...at, deviceId: 'MXTOKPASSWORD01', createdAt: '2026-01-01T00:00:00.000Z', store: 'keychain', auth: 'password'},
]

const PENDING: PendingLogin[] = [
  {
    auth: 'admin',
    name: 'admin-next',
    userId: '@bot:hs.example',
    deviceId: 'ADMINABCDEFGHIJKM' as AdminLoginKey,
    homeserver: 'https://hs.example',
    store: 'keychain',
    since: '2026-01-03T00:00:00.000Z',
    admin: {by: '@root:hs.example', session: 'root', expiresAt: '2026-02-02T00:00:00.000Z'},
  },
  {
    auth: 'admin',
    name: 'admin-never',
    userId: '@bot:hs.example',
    deviceId: 'ADMINNEVER0000000' as AdminLoginKey,
    homeserver: 'https://hs.example',
    store: 'file',
    since: '2026-01-03T00:00:00.000Z',
    admin: {by: '@root:hs.example', session: 'root'},
  },
  {
    auth: 'oauth',
    userId: '@bot:hs.example',
    deviceId: 'MXTOKOAUTHDEV03',
    homeserver: 'https://hs.example',
    store: 'keychain',
    since: '2026-01-03T00:00:00.000Z',
    oauth: {...GRANT, revocationEndpoint: 'https://auth.hs.example/oauth2/revoke'},
  },
  {
    auth: 'password',
    userId: '@bot:hs.example',
    deviceId: 'MXTOKOLDPENDING',
    homeserver: 'https://hs.example',
    store: 'keychain',
    since: '2025-06-01T00:00:00.000Z',
  },
  {
    auth: 'password',
    name: 'password-next',
    userId: '@bot:hs.example',
    deviceId: 'MXTOKPASSWORD02',
    homeserver: 'https://hs.example',
    store: 'keychain',
    since: '2026-01-03T00:00:00.000Z',
  },
  {
    auth: 'password',
    name: 'by-localpart',
    userId: 'bot',
    deviceId: 'MXTOKPROBE00001',
    homeserver: 'https://hs.example',
    store: 'keychain',
    since: '2026-01-03T00:00:00.000Z',
  },
]

function released(): SessionRegistry {
  const dir = mkdtempSync(join(tmpdir(), 'mxtok-format-'))
  writeFileSync(join(dir, REGISTRY_FILE), RELEASED, {mode: 0o600})
  const warnings: string[] = []
  const reg = new SessionRegistry(dir, (m) => warnings.push(m))
  // Not one entry of the released format counts as damaged.
  expect.soft(warnings).toEqual([])
  return reg
}

describe('sessions.json as released', () => {
  it('reads each session as what it is: a password login (or imported token), an OAuth grant, an admin login', async () => {
    expect(await released().list()).toEqual(SESSIONS)
  })

  it('reads each pending login as what it is', async () => {
    expect(await released().pending()).toEqual(PENDING)
  })

  it('writes the file back byte for byte, through an update that changes nothing', async () => {
    const reg = released()
    await reg.update(() => {})
    expect(readFileSync(reg.path, 'utf8')).toBe(RELEASED)
  })

  it('writes back byte for byte what it read, through an update that sets every entry again', async () => {
    const reg = released()
    await reg.update((sessions, pending) => {
      for (const s of SESSIONS) sessions.set(s.name, {...s})
      for (const [account, p] of [...pending]) pending.set(account, {...p})
    })
    expect(readFileSync(reg.path, 'utf8')).toBe(RELEASED)
  })

  it('treats a pending login that is both an OAuth grant and an admin login as damaged, and keeps it as it was', async () => {
    const reg = released()
    const file = JSON.parse(RELEASED)
    const both = {...file.pending['@bot:hs.example/MXTOKOAUTHDEV03'], admin: {by: '@root:hs.example', session: 'root'}}
    file.pending['@bot:hs.example/MXTOKOAUTHDEV03'] = both
    writeFileSync(reg.path, JSON.stringify(file))
    const warnings: string[] = []
    const again = new SessionRegistry(reg.dir, (m) => warnings.push(m))
    expect((await again.pending()).map((p) => p.deviceId)).not.toContain('MXTOKOAUTHDEV03')
    expect(warnings).toEqual([expect.stringContaining('it has both "oauth" and "admin"')])
    await again.update(() => {})
    expect(JSON.parse(readFileSync(reg.path, 'utf8')).pending['@bot:hs.example/MXTOKOAUTHDEV03']).toEqual(both)
  })
})

describe('an OAuth grant with the admin API of MAS', () => {
  it('is kept through a write and a read, and a grant whose "admin" is not true is damaged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mxtok-format-'))
    const warnings: string[] = []
    const reg = new SessionRegistry(dir, (m) => warnings.push(m))
    const admin = SESSIONS.find((s) => s.auth === 'oauth')!
    const session = {...admin, name: 'mas-admin', oauth: {...(admin as {oauth: object}).oauth, admin: true}} as Session
    await reg.update((sessions) => void sessions.set(session.name, session))
    expect(JSON.parse(readFileSync(reg.path, 'utf8')).sessions['mas-admin'].oauth.admin).toBe(true)
    expect(await new SessionRegistry(dir).list()).toEqual([session])

    const file = JSON.parse(readFileSync(reg.path, 'utf8'))
    file.sessions['mas-admin'].oauth.admin = 'yes'
    writeFileSync(reg.path, JSON.stringify(file), {mode: 0o600})
    expect(await reg.list()).toEqual([])
    expect(warnings).toEqual([expect.stringContaining('"oauth.admin" is neither missing nor true')])
  })
})

// An admin client's session and its pending create, as this mxtok writes them: beside the released
// file, which stays version 1 and reads as before.
const CLIENT_FILE = `{
  "version": 1,
  "sessions": {
    "ops": {
      "userId": "client:01J44QC8BCY7FCFM7WGHQGKMTJ",
      "homeserver": "https://hs.example",
      "deviceId": "CLIENTABCDEFGH2345",
      "createdAt": "2026-01-04T00:00:00.000Z",
      "store": "keychain",
      "auth": "client",
      "oauth": {
        "issuer": "https://auth.hs.example/",
        "clientId": "01J44QC8BCY7FCFM7WGHQGKMTJ",
        "tokenEndpoint": "https://auth.hs.example/oauth2/token",
        "revocationEndpoint": "https://auth.hs.example/oauth2/revoke",
        "admin": true
      }
    }
  },
  "pending": {
    "client:01J44QC8BCY7FCFM7WGHQGKMTJ/CLIENTZZZZZZZZ2345": {
      "name": "ops-next",
      "userId": "client:01J44QC8BCY7FCFM7WGHQGKMTJ",
      "deviceId": "CLIENTZZZZZZZZ2345",
      "homeserver": "https://hs.example",
      "store": "file",
      "since": "2026-01-04T00:00:00.000Z",
      "auth": "client",
      "oauth": {
        "issuer": "https://auth.hs.example/",
        "clientId": "01J44QC8BCY7FCFM7WGHQGKMTJ",
        "tokenEndpoint": "https://auth.hs.example/oauth2/token",
        "admin": true
      }
    }
  }
}
`

describe("an admin client's session", () => {
  const ADMIN_GRANT = {...GRANT, clientId: '01J44QC8BCY7FCFM7WGHQGKMTJ', admin: true as const}
  const client = (): SessionRegistry => {
    const dir = mkdtempSync(join(tmpdir(), 'mxtok-format-'))
    writeFileSync(join(dir, REGISTRY_FILE), CLIENT_FILE, {mode: 0o600})
    return new SessionRegistry(dir, (m) => {
      throw new Error(m)
    })
  }

  it("reads as a session with no user and no device, its keys mxtok's own, and its pending create as one", async () => {
    const reg = client()
    expect(await reg.list()).toEqual([
      {
        name: 'ops',
        userId: 'client:01J44QC8BCY7FCFM7WGHQGKMTJ',
        homeserver: 'https://hs.example',
        deviceId: 'CLIENTABCDEFGH2345',
        createdAt: '2026-01-04T00:00:00.000Z',
        store: 'keychain',
        auth: 'client',
        oauth: {...ADMIN_GRANT, revocationEndpoint: 'https://auth.hs.example/oauth2/revoke'},
      },
    ])
    expect(await reg.pending()).toEqual([
      {
        auth: 'client',
        name: 'ops-next',
        userId: 'client:01J44QC8BCY7FCFM7WGHQGKMTJ',
        deviceId: 'CLIENTZZZZZZZZ2345',
        homeserver: 'https://hs.example',
        store: 'file',
        since: '2026-01-04T00:00:00.000Z',
        oauth: ADMIN_GRANT,
      },
    ])
  })

  it('is written back byte for byte, through an update that sets every entry again', async () => {
    const reg = client()
    const sessions = await reg.list()
    await reg.update((s, pending) => {
      for (const session of sessions) s.set(session.name, {...session})
      for (const [account, p] of [...pending]) pending.set(account, {...p})
    })
    expect(readFileSync(reg.path, 'utf8')).toBe(CLIENT_FILE)
  })

  it.each([
    ['a Matrix user ID', (e: Record<string, unknown>) => (e.userId = '@ops:hs.example'), '"userId" is not "client:" and the grant\'s client ID'],
    ["another client's ID", (e: Record<string, unknown>) => (e.userId = 'client:OTHER'), '"userId" is not "client:" and the grant\'s client ID'],
    ['a device ID', (e: Record<string, unknown>) => (e.deviceId = 'MXTOKOAUTHDEV01'), '"deviceId" is not an admin client\'s key'],
    ['a grant without the admin scope', (e: Record<string, unknown>) => delete (e.oauth as Record<string, unknown>).admin, '"oauth.admin" is not true'],
    ['no grant', (e: Record<string, unknown>) => delete e.oauth, '"userId" is not "client:" and the grant\'s client ID'],
  ])('is damaged with %s, named and skipped', async (_, spoil, problem) => {
    const dir = mkdtempSync(join(tmpdir(), 'mxtok-format-'))
    const file = JSON.parse(CLIENT_FILE)
    spoil(file.sessions.ops)
    writeFileSync(join(dir, REGISTRY_FILE), JSON.stringify(file), {mode: 0o600})
    const warnings: string[] = []
    expect(await new SessionRegistry(dir, (m) => warnings.push(m)).list()).toEqual([])
    expect(warnings).toEqual([expect.stringContaining(problem)])
  })
})

describe('personal tokens of MAS', () => {
  const personal: Session = {
    name: 'mas-bot',
    ...at,
    deviceId: 'MXTOKPERSONAL01',
    createdAt: '2026-01-02T00:00:00.000Z',
    store: 'keychain',
    auth: 'personal',
    personal: {id: '01FSHN9AG07HNEZXNQM2KNBNF6', admin: 'root'},
    expiresAt: '2026-02-01T00:00:00.000Z',
  }
  const creating: PendingLogin = {
    name: 'mas-next',
    userId: '@bot:hs.example',
    deviceId: 'MXTOKPERSONAL02',
    homeserver: 'https://hs.example',
    store: 'keychain',
    since: '2026-01-03T00:00:00.000Z',
    auth: 'personal',
    personal: {admin: 'root', issuer: 'https://auth.hs.example/', humanName: 'mxtok: mas-next (2026-01-03T00:00:00.000Z)'},
  }
  const rotating: PendingLogin = {
    ...creating,
    deviceId: 'MXTOKPERSONAL01',
    name: 'mas-bot',
    personal: {admin: 'root', issuer: 'https://auth.hs.example/', id: '01FSHN9AG07HNEZXNQM2KNBNF6'},
  }

  it('are kept through a write and a read, with the journal entries of their create and rotate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mxtok-format-'))
    const warnings: string[] = []
    const reg = new SessionRegistry(dir, (m) => warnings.push(m))
    await reg.update((sessions, pending) => {
      sessions.set(personal.name, personal)
      pending.set('@bot:hs.example/MXTOKPERSONAL02', creating)
      pending.set('@bot:hs.example/MXTOKPERSONAL01', rotating)
    })
    const file = JSON.parse(readFileSync(reg.path, 'utf8'))
    expect(file.version).toBe(1)
    expect(file.sessions['mas-bot']).toEqual({
      userId: '@bot:hs.example',
      homeserver: 'https://hs.example',
      deviceId: 'MXTOKPERSONAL01',
      createdAt: '2026-01-02T00:00:00.000Z',
      store: 'keychain',
      auth: 'personal',
      personal: {id: '01FSHN9AG07HNEZXNQM2KNBNF6', admin: 'root'},
      expiresAt: '2026-02-01T00:00:00.000Z',
    })
    const again = new SessionRegistry(dir, (m) => warnings.push(m))
    expect(await again.list()).toEqual([personal])
    expect(await again.pending()).toEqual([rotating, creating])
    const written = readFileSync(reg.path, 'utf8')
    await again.update(() => {})
    expect(readFileSync(reg.path, 'utf8')).toBe(written)
    expect(warnings).toEqual([])
  })

  it('are damaged without their personal session ID or admin session, and a journal entry with both an ID and a name too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mxtok-format-'))
    const warnings: string[] = []
    const reg = new SessionRegistry(dir, (m) => warnings.push(m))
    await reg.update((sessions, pending) => {
      sessions.set(personal.name, personal)
      pending.set('@bot:hs.example/MXTOKPERSONAL02', creating)
    })
    const file = JSON.parse(readFileSync(reg.path, 'utf8'))
    file.sessions['mas-bot'].personal = {admin: 'root'}
    file.pending['@bot:hs.example/MXTOKPERSONAL02'].personal.id = '01FSHN9AG07HNEZXNQM2KNBNF6'
    writeFileSync(reg.path, JSON.stringify(file), {mode: 0o600})
    expect(await reg.list()).toEqual([])
    expect(await reg.pending()).toEqual([])
    expect(warnings).toEqual([
      expect.stringContaining('"personal" does not hold a personal session ID and the session of its admin'),
      expect.stringContaining('neither a "personal.humanName" (a create) nor a "personal.id" (a rotation), or both'),
    ])
  })
})

describe("a journal entry's lease", () => {
  const lease = {by: 'ann@box', pid: 4242, until: '2026-01-03T00:10:00.000Z'}
  const leased = PENDING.map((p) => ({...p, ...lease}))

  it('is kept, for every kind of login, through a write and a read of sessions.json and of the team home', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mxtok-format-'))
    const warnings: string[] = []
    const reg = new SessionRegistry(dir, (m) => warnings.push(m))
    await reg.update((_, pending) => {
      for (const p of leased) pending.set(`${p.userId}/${p.deviceId}`, p)
    })
    const file = JSON.parse(readFileSync(reg.path, 'utf8'))
    for (const entry of Object.values(file.pending)) expect(entry).toMatchObject(lease)
    expect(sortByDevice(await new SessionRegistry(dir).pending())).toEqual(sortByDevice(leased))
    for (const p of leased) {
      const fields = pendingFields(p)
      expect(fields).toMatchObject({mxtok_by: 'ann@box pid 4242', mxtok_until: lease.until})
      expect(readPendingFields(fields)).toEqual(p)
    }
    expect(warnings).toEqual([])
  })

  it("is absent from an older mxtok's entry, which reads as before in both", () => {
    for (const p of PENDING) {
      const fields = pendingFields(p)
      expect(Object.keys(fields)).not.toContain('mxtok_until')
      expect(readPendingFields(fields)).toEqual(p)
    }
  })

  it('is whole or the entry is damaged: a holder, a process ID and a date', async () => {
    const [first] = leased
    for (const [change, problem] of [
      [{pid: '4242'}, '"pid" is not a process ID'],
      [{pid: undefined}, '"pid" is not a process ID'],
      [{by: 'ann'}, '"by" is not user@host'],
      [{until: 'soon'}, '"until" is not a date'],
    ] as const) {
      const fields = pendingFields(first)
      const entry = {...JSON.parse(fields.mxtok_pending as string), ...change}
      expect(readPendingFields({...fields, mxtok_pending: JSON.stringify(entry)})).toEqual({problem})
    }
  })
})

const sortByDevice = (ps: PendingLogin[]) => [...ps].sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1))
