import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {REGISTRY_FILE, SessionRegistry} from '../../src/registry/registry.js'
import {sessionEntry} from '../../src/registry/registry-format.js'
import type {Session} from '../../src/registry/session.js'

// Operators with many bridges and bots keep hundreds of sessions over several accounts and servers.
const COUNT = 1000
const sessions: Session[] = Array.from({length: COUNT}, (_, i) => ({
  name: `bot${String(i).padStart(4, '0')}`,
  userId: `@bridge${i % 7}:hs${i % 3}.example`,
  homeserver: `https://matrix.hs${i % 3}.example`,
  deviceId: `MXTOK${String(i).padStart(10, '0')}`,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  store: 'keychain',
  auth: 'password',
}))

/** A config directory holding the sessions as docs/configuration.md documents the file, written the other way round. */
function documentedFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mxtok-reg-scale-'))
  const file = {version: 1, sessions: Object.fromEntries([...sessions].reverse().map((s) => [s.name, sessionEntry(s)]))}
  writeFileSync(join(dir, REGISTRY_FILE), `${JSON.stringify(file, null, 2)}\n`, {mode: 0o600})
  return dir
}

describe(`a registry of ${COUNT} sessions`, () => {
  it('lists every session, whole and sorted by name', async () => {
    const reg = new SessionRegistry(documentedFile())
    expect(await reg.list()).toEqual(sessions)
  })

  it('finds any one of them by name, and no other', async () => {
    const reg = new SessionRegistry(documentedFile())
    for (const i of [0, 1, 499, 998, 999]) expect(await reg.get(sessions[i].name)).toEqual(sessions[i])
    expect(await reg.get('bot1000')).toBeUndefined()
  })

  it('keeps all of them through an update that adds and removes one', async () => {
    const reg = new SessionRegistry(documentedFile())
    const added: Session = {...sessions[0], auth: 'password', name: 'zz-new', deviceId: 'MXTOKNEWDEVICE'}
    await reg.update((all) => {
      all.delete(sessions[500].name)
      all.set(added.name, added)
    })
    const expected = [...sessions.filter((s) => s.name !== sessions[500].name), added]
    expect(await reg.list()).toEqual(expected)
    expect(Object.keys(JSON.parse(readFileSync(reg.path, 'utf8')).sessions)).toHaveLength(COUNT)
  })
})
