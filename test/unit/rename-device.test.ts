import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {renameDevice} from '../../src/core/rename-device.js'
import type {AdminLoginKey} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {unitDeps} from '../support/unit-deps.js'

const HS = 'https://hs.example'
const USER = '@bot:hs.example'
const DEVICE = 'MXTOK.A_B-C~D'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

async function withSession() {
  const deps = unitDeps()
  await deps.registry.update((sessions) => {
    sessions.set('bot', {
      name: 'bot',
      userId: USER,
      homeserver: HS,
      deviceId: DEVICE,
      createdAt: '2026-01-02T03:04:05.000Z',
      store: 'keychain',
      auth: 'password',
    })
  })
  deps.memory.items.set(secretAccount(USER, DEVICE), 'syt_tok')
  return deps
}

describe('renameDevice', () => {
  it("PUTs the display name to the session's device with its token", async () => {
    const deps = await withSession()
    const scope = nock(HS)
      .put('/_matrix/client/v3/devices/MXTOK.A_B-C~D', {display_name: 'reminder bot'})
      .matchHeader('authorization', 'Bearer syt_tok')
      .reply(200, {})
    expect(await renameDevice({name: 'bot', deviceName: 'reminder bot'}, deps)).toEqual({
      name: 'bot',
      userId: USER,
      deviceId: DEVICE,
      displayName: 'reminder bot',
    })
    scope.done()
  })

  it('refuses a session of an admin login, whose token has no device, before reading the token or asking the server', async () => {
    const deps = unitDeps()
    await deps.registry.update((sessions) => {
      sessions.set('as-bot', {
        name: 'as-bot',
        userId: USER,
        homeserver: HS,
        deviceId: 'MXTOKADMIN00001' as AdminLoginKey,
        createdAt: '2026-01-02T03:04:05.000Z',
        store: 'keychain',
        auth: 'admin',
        admin: {by: '@admin:hs.example'},
      })
    })
    await expect(renameDevice({name: 'as-bot', deviceName: 'bridge'}, deps)).rejects.toMatchObject({
      kind: 'usage',
      message: 'session "as-bot" is an admin login as @bot:hs.example (by @admin:hs.example), whose token is on no device: there is nothing to rename',
    })
  })

  it('counts the length in characters as Synapse does, and refuses more than 100 before any request', async () => {
    const deps = await withSession()
    const scope = nock(HS).put(/.*/).reply(200, {})
    await renameDevice({name: 'bot', deviceName: '🤖'.repeat(100)}, deps)
    scope.done()
    await expect(renameDevice({name: 'bot', deviceName: 'x'.repeat(101)}, deps)).rejects.toMatchObject({
      kind: 'usage',
      message: 'the device name is 101 characters long; homeservers accept at most 100',
    })
    await expect(renameDevice({name: 'bot', deviceName: '  '}, deps)).rejects.toMatchObject({kind: 'usage'})
  })

  it('says so when the session has no token, and when the token is dead', async () => {
    const deps = await withSession()
    nock(HS).put(/.*/).reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.'})
    await expect(renameDevice({name: 'bot', deviceName: 'x'}, deps)).rejects.toMatchObject({errcode: 'M_UNKNOWN_TOKEN'})
    deps.memory.items.clear()
    await expect(renameDevice({name: 'bot', deviceName: 'x'}, deps)).rejects.toMatchObject({kind: 'tokenInvalid'})
    await expect(renameDevice({name: 'nope', deviceName: 'x'}, deps)).rejects.toMatchObject({kind: 'usage'})
  })
})
