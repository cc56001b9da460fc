import {afterAll, beforeAll, describe, expect, it, vi} from 'vitest'
import {verifySessions} from '../../src/core/verify-sessions.js'
import {KeychainStore} from '../../src/store/keychain-store.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {useKeyringInThisProcess} from '../support/keyring.js'
import {service} from '../support/services.js'
import {unitDeps} from '../support/unit-deps.js'

const keyringEnv = await service('keyringEnv')
let restore: () => void

beforeAll(() => {
  restore = useKeyringInThisProcess(keyringEnv)
})
afterAll(() => restore?.())

describe('KeychainStore.prefetch', () => {
  it('reads many items at once, hands each out once, then reads the keychain again', async () => {
    const store = new KeychainStore({service: `mxtok-batch-${process.pid}`})
    const accounts = Array.from({length: 10}, (_, i) => `@b:hs/DEV${i}`)
    for (const a of accounts) await store.set(a, `secret-${a}`)
    await store.prefetch(accounts.slice(0, 5))
    // The five are read together: once one is there, all are.
    expect(await store.get(accounts[1])).toBe(`secret-${accounts[1]}`)
    // Changed behind the cache's back: a prefetched read still sees the old value once, then the new.
    await new KeychainStore({service: `mxtok-batch-${process.pid}`}).set(accounts[0], 'changed')
    expect(await store.get(accounts[0])).toBe(`secret-${accounts[0]}`)
    expect(await store.get(accounts[0])).toBe('changed')
    expect(await store.get(accounts[7])).toBe(`secret-${accounts[7]}`)
    for (const a of accounts) await store.delete(a)
  })
})

describe('verify', () => {
  it('asks the store for all tokens at once from 8 sessions on, and not for fewer', async () => {
    const deps = unitDeps()
    const prefetch = vi.fn(async (_accounts: string[]) => {})
    Object.assign(deps.memory, {prefetch})
    const names = Array.from({length: 8}, (_, i) => `s${i}`)
    await deps.registry.update((sessions) => {
      for (const n of names)
        sessions.set(n, {
          name: n,
          userId: '@u:hs',
          homeserver: 'http://127.0.0.1:9',
          deviceId: `D${n}`,
          createdAt: '2026-01-01T00:00:00.000Z',
          store: 'keychain',
          auth: 'password',
        })
    })
    await verifySessions([], deps)
    expect(prefetch).toHaveBeenCalledTimes(1)
    expect(prefetch.mock.calls[0][0].sort()).toEqual(names.map((n) => secretAccount('@u:hs', `D${n}`)).sort())
    await verifySessions(names.slice(0, 7), deps)
    expect(prefetch).toHaveBeenCalledTimes(1)
  })
})
