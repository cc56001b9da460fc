import {mkdtempSync, readdirSync, statSync, writeFileSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {configDir} from '../../src/registry/config-dir.js'
import {SessionRegistry, type Session} from '../../src/registry/registry.js'

const dir = () => mkdtempSync(join(tmpdir(), 'mxtok-reg-'))
const session = (name: string): Session => ({
  name,
  userId: '@bot:hs.example',
  homeserver: 'https://hs.example',
  deviceId: `MXTOK${name.toUpperCase()}`,
  createdAt: '2026-01-01T00:00:00.000Z',
  store: 'keychain',
})

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

describe('configDir', () => {
  it('prefers MXTOK_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configDir({MXTOK_CONFIG_DIR: '/a', XDG_CONFIG_HOME: '/b'})).toBe('/a')
    expect(configDir({XDG_CONFIG_HOME: '/b'})).toBe('/b/mxtok')
    expect(configDir({})).toMatch(/\/\.config\/mxtok$/)
  })
})
