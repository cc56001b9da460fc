import {chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {configDir} from '../../src/registry/config-dir.js'
import {SessionRegistry} from '../../src/registry/registry.js'
import {sessionEntry} from '../../src/registry/registry-format.js'
import type {Session} from '../../src/registry/session.js'

const dir = () => mkdtempSync(join(tmpdir(), 'mxtok-reg-'))
const session = (name: string): Session => ({
  name,
  userId: '@bot:hs.example',
  homeserver: 'https://hs.example',
  deviceId: `MXTOK${name.toUpperCase()}`,
  createdAt: '2026-01-01T00:00:00.000Z',
  store: 'keychain',
  auth: 'password',
})
/** The session as sessions.json holds it. */
const entry = (name: string) => sessionEntry(session(name))

describe('SessionRegistry', () => {
  it('writes a private file in a private directory, leaving no temporary files', async () => {
    const d = join(dir(), 'nested')
    const reg = new SessionRegistry(d)
    await reg.update((s) => void s.set('a', session('a')))
    expect(statSync(reg.path).mode & 0o777).toBe(0o600)
    expect(statSync(d).mode & 0o777).toBe(0o700)
    expect(readdirSync(d)).toEqual(['sessions.json'])
    expect(await reg.get('a')).toEqual(session('a'))
    expect(await reg.get('constructor')).toBeUndefined()
  })

  it('keeps every change when many updates run at once', async () => {
    const reg = new SessionRegistry(dir())
    const names = Array.from({length: 20}, (_, i) => `s${i}`)
    await Promise.all(names.map((n) => reg.update((s) => void s.set(n, session(n)))))
    expect((await reg.list()).map((s) => s.name).sort()).toEqual([...names].sort())
  })

  it('refuses a corrupt file and leaves it as it was', async () => {
    const d = dir()
    const reg = new SessionRegistry(d)
    writeFileSync(reg.path, '{"version":1,"sess')
    await expect(reg.update((s) => void s.set('a', session('a')))).rejects.toThrow(/is not valid JSON/)
    expect(readFileSync(reg.path, 'utf8')).toBe('{"version":1,"sess')
  })

  it('refuses a file from a newer format version', async () => {
    const reg = new SessionRegistry(dir())
    writeFileSync(reg.path, JSON.stringify({version: 2, sessions: {}}))
    await expect(reg.list()).rejects.toThrow(/unknown format \(version 2\); upgrade mxtok/)
  })
})

describe('a registry edited by hand, or by someone else', () => {
  const damaged = {
    typeless: {userId: 42, homeserver: 'https://hs.example', deviceId: 'MXTOKA', createdAt: '2026-01-01T00:00:00.000Z', store: 'keychain'},
    badurl: {...entry('x'), homeserver: 'not a url'},
    ftp: {...entry('x'), homeserver: 'ftp://hs.example'},
    escape: {...entry('x'), deviceId: 'MXTOK\u001b[2J'},
    nostore: {...entry('x'), store: 'paper'},
    'bad name!': entry('y'),
    oauthless: {...entry('x'), auth: 'oauth'},
    nodate: {...entry('x'), createdAt: 7},
    notobject: 'hello',
  }

  it('skips each damaged entry, naming it once, and keeps every entry on the next write', async () => {
    const reg0 = new SessionRegistry(dir())
    const good = entry('good')
    writeFileSync(reg0.path, JSON.stringify({version: 1, sessions: {good, ...damaged}, pending: {'@x:hs.example/D': {userId: 'nope'}}}))
    const warnings: string[] = []
    const reg = new SessionRegistry(reg0.dir, (m) => warnings.push(m))
    expect((await reg.list()).map((s) => s.name)).toEqual(['good'])
    await reg.list()
    expect(warnings).toHaveLength(Object.keys(damaged).length + 1)
    expect(warnings.find((w) => w.includes('"badurl"'))).toBe(
      `skipping session "badurl" in ${reg.path}: "homeserver" is not an http(s) URL; fix or delete that entry`,
    )
    expect(warnings.some((w) => w.includes('"typeless"') && w.includes('"userId"'))).toBe(true)
    expect(warnings.some((w) => w.includes('pending login "@x:hs.example/D"'))).toBe(true)
    await expect(reg.get('badurl')).rejects.toMatchObject({kind: 'config', message: expect.stringContaining('session "badurl"')})

    await reg.update((s) => void s.set('new', session('new')))
    const written = JSON.parse(readFileSync(reg.path, 'utf8'))
    expect(Object.keys(written.sessions).sort()).toEqual([
      'bad name!',
      'badurl',
      'escape',
      'ftp',
      'good',
      'new',
      'nodate',
      'nostore',
      'notobject',
      'oauthless',
      'typeless',
    ])
    expect(written.sessions.typeless).toEqual(damaged.typeless)
    expect(written.pending).toEqual({'@x:hs.example/D': {userId: 'nope'}})
  })

  it('refuses a key written twice instead of silently taking the last', async () => {
    const reg = new SessionRegistry(dir())
    const text = JSON.stringify(entry('a'))
    writeFileSync(reg.path, `{"version": 1, "sessions": {"a": ${text}, "b": ${text}, "a": ${text}}}`)
    await expect(reg.list()).rejects.toMatchObject({kind: 'config', message: `${reg.path} has the key "a" twice; keep the one you mean and delete the other`})
    // Keys in different objects, and equal strings that are values, are not duplicates.
    writeFileSync(reg.path, JSON.stringify({version: 1, sessions: {a: entry('a'), b: {...entry('b'), name: 'a'}}}))
    expect((await reg.list()).map((s) => s.name)).toEqual(['a', 'b'])
    writeFileSync(reg.path, `{"version": 1, "sessions": {"a\\"": ${text}, "a\\\u0022": ${text}}}`)
    await expect(reg.list()).rejects.toThrow(/twice/)
  })

  it('refuses a directory or file that other users can write, or that another user owns', async () => {
    const reg = new SessionRegistry(dir())
    await reg.update((s) => void s.set('a', session('a')))
    chmodSync(reg.dir, 0o770)
    await expect(reg.list()).rejects.toMatchObject({
      kind: 'config',
      message: `refusing to use ${reg.dir}: other users can write it and so redirect your tokens; fix it with: chmod go-w ${reg.dir}`,
    })
    await expect(reg.update(() => {})).rejects.toMatchObject({kind: 'config'})
    chmodSync(reg.dir, 0o700)
    chmodSync(reg.path, 0o602)
    await expect(reg.list()).rejects.toThrow(`chmod go-w ${reg.path}`)
    chmodSync(reg.path, 0o600)
    chownSync(reg.path, 65534, 65534)
    await expect(reg.list()).rejects.toThrow(`refusing to use ${reg.path}: it belongs to another user (uid 65534)`)
    chownSync(reg.path, process.getuid!(), process.getgid!())
    expect(await reg.list()).toHaveLength(1)
  })
})

describe('configDir', () => {
  it('prefers MXTOK_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configDir({MXTOK_CONFIG_DIR: '/a', XDG_CONFIG_HOME: '/b'})).toBe('/a')
    expect(configDir({XDG_CONFIG_HOME: '/b'})).toBe('/b/mxtok')
    expect(configDir({})).toMatch(/\/\.config\/mxtok$/)
  })
})
