import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {createAdminSession} from '../../src/core/create-admin-session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {unitDeps} from '../support/unit-deps.js'

const ADMIN = '@boss:hs.example'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

describe('createAdminSession', () => {
  it('refused by mxtok before any request (plain http to another machine), leaves no journal entry and no warning of a stranded token', async () => {
    const deps = unitDeps()
    await deps.registry.update((sessions) => {
      sessions.set('boss', {
        name: 'boss',
        userId: ADMIN,
        homeserver: 'http://hs.example',
        deviceId: 'BOSSDEVICE',
        createdAt: '2026-01-01T00:00:00.000Z',
        store: 'keychain',
        auth: 'password',
      })
    })
    deps.memory.items.set(secretAccount(ADMIN, 'BOSSDEVICE'), 'syt_boss')
    await expect(createAdminSession({name: 'bot', user: '@bot:hs.example', as: 'boss'}, deps)).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringContaining('refusing plain http://'),
    })
    expect(await deps.registry.pending()).toEqual([])
    expect(deps.warnings).toEqual([])
  })

  it('refuses an --expires past 10 years with exit 2 before any request, pointing at "never"', async () => {
    const deps = unitDeps()
    const err = await createAdminSession({name: 'bot', user: '@bot:hs.example', as: 'boss', expires: '999999999w'}, deps).catch((e: unknown) => e)
    expect(err).toMatchObject({
      kind: 'usage',
      exitCode: 2,
      message: '--expires "999999999w" is longer than 10 years, the longest duration mxtok takes (3653d); for a token without an end, give --expires never',
    })
    expect(await deps.registry.pending()).toEqual([])
  })
})
