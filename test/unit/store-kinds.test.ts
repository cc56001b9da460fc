import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {DEFAULT_STORE, openStore, STORE_KINDS, STORES, type StoreContext, storeLabel} from '../../src/store/store-kinds.js'

const context = (passphrase = 'correct horse'): StoreContext => ({
  env: {},
  configDir: mkdtempSync(join(tmpdir(), 'mxtok-kinds-')),
  timeoutMs: (_, fallbackMs) => fallbackMs,
  passphrase: () => async () => passphrase,
  teamStore: () => ({kind: 'vault', check: async () => {}, get: async () => null, set: async () => {}, delete: async () => false, prefetch: async () => {}}),
})

describe('the table of secret stores', () => {
  it('says of each store what the store it makes can do', () => {
    for (const kind of STORE_KINDS) {
      // Neither store does any I/O before it is asked something.
      const store = openStore(kind, context())
      expect({kind: store.kind, lists: typeof store.accounts === 'function', prefetches: typeof store.prefetch === 'function'}).toEqual({
        kind,
        lists: STORES[kind].lists,
        prefetches: STORES[kind].prefetches,
      })
    }
  })

  it('has the default among its kinds, and labels as messages have always said them', () => {
    expect(STORE_KINDS).toContain(DEFAULT_STORE)
    expect(STORE_KINDS).toEqual(['keychain', 'file', 'vault'])
    expect(storeLabel('keychain')).toBe('OS keychain')
    expect(storeLabel('file')).toBe('encrypted file store')
    expect(storeLabel('vault')).toBe('team home in OpenBao/Vault')
  })

  it('makes a store that asks for nothing before it is used', async () => {
    let asked = 0
    const ctx = {...context(), passphrase: () => async () => (asked++, 'pass')}
    const store = openStore('file', ctx)
    expect(asked).toBe(0)
    await store.set('@a:hs/DEV1', 'secret')
    expect(await store.get('@a:hs/DEV1')).toBe('secret')
    expect(await store.accounts?.()).toEqual(['@a:hs/DEV1'])
    expect(await store.delete('@a:hs/DEV1')).toBe(true)
    expect(await store.get('@a:hs/DEV1')).toBeNull()
    expect(asked).toBe(1)
  })

  it('gives a file store failure the kind of a store failure, with exit 6', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mxtok-kinds-'))
    await openStore('file', {...context(), configDir: dir}).set('@a:hs/DEV1', 'secret')
    await expect(openStore('file', {...context('wrong'), configDir: dir}).get('@a:hs/DEV1')).rejects.toMatchObject({kind: 'store', exitCode: 6})
  })
})
