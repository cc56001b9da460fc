import {afterEach, beforeEach, describe, expect, it, vi} from 'vitest'
import type {TokenInfo} from '../../src/vault/client.js'
import {VaultError} from '../../src/vault/errors.js'
import {type RenewableToken, renewWhile, startRenewal} from '../../src/vault/renewer.js'

beforeEach(() => vi.useFakeTimers({now: 0}))
afterEach(() => vi.useRealTimers())

/** A token with a TTL that renew-self resets to `period` seconds, up to `maxTtl` seconds after it was made. */
function fakeToken(opts: {ttl: number; period: number; maxTtl?: number; renewable?: boolean}) {
  const renewals: number[] = []
  let expiresAt = opts.ttl * 1000
  const failures: Error[] = []
  const token: RenewableToken = {
    tokenOrigin: 'AppRole approle',
    lookupSelf: async (): Promise<TokenInfo> => ({
      ttl: opts.ttl,
      renewable: opts.renewable ?? true,
      policies: ['default'],
      displayName: 'approle',
      meta: {role_name: 'bot'},
    }),
    renewSelf: async () => {
      const failure = failures.shift()
      if (failure) throw failure
      renewals.push(Date.now())
      const cap = opts.maxTtl === undefined ? Number.POSITIVE_INFINITY : opts.maxTtl * 1000
      expiresAt = Math.min(Date.now() + opts.period * 1000, cap)
      return {ttl: Math.round((expiresAt - Date.now()) / 1000), renewable: true}
    },
  }
  return {token, renewals, failures, expiresAt: () => expiresAt}
}

describe('the token renewer', () => {
  it('renews at two thirds of the TTL, again and again, and stops cleanly', async () => {
    const fake = fakeToken({ttl: 30, period: 30})
    const warnings: string[] = []
    const renewal = startRenewal(fake.token, (l) => warnings.push(l))
    await vi.advanceTimersByTimeAsync(19_999)
    expect(fake.renewals).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(fake.renewals).toEqual([20_000])
    await vi.advanceTimersByTimeAsync(60_000)
    expect(fake.renewals).toEqual([20_000, 40_000, 60_000, 80_000])
    // The token never came within a third of its TTL of expiring.
    expect(fake.expiresAt() - Date.now()).toBeGreaterThan(10_000)
    await renewal.stop()
    await vi.advanceTimersByTimeAsync(600_000)
    expect(fake.renewals).toHaveLength(4)
    expect(vi.getTimerCount()).toBe(0)
    expect(warnings).toEqual([])
  })

  it('leaves alone a token that does not expire, or cannot be renewed', async () => {
    for (const opts of [
      {ttl: 0, period: 30},
      {ttl: 30, period: 30, renewable: false},
    ]) {
      const fake = fakeToken(opts)
      const renewal = startRenewal(fake.token, () => expect.unreachable('no warning'))
      await vi.advanceTimersByTimeAsync(120_000)
      expect(fake.renewals).toEqual([])
      expect(vi.getTimerCount()).toBe(0)
      await renewal.stop()
    }
  })

  it('tries a failed renewal again at two thirds of the time then left, saying so once per failure', async () => {
    const fake = fakeToken({ttl: 30, period: 30})
    fake.failures.push(new VaultError('noLeader', 503, 'OpenBao/Vault at vault.example:8200 has no active node'))
    const warnings: string[] = []
    const renewal = startRenewal(fake.token, (l) => warnings.push(l))
    await vi.advanceTimersByTimeAsync(20_000)
    expect(warnings).toEqual([
      'could not renew the OpenBao/Vault token from AppRole approle: OpenBao/Vault at vault.example:8200 has no active node; trying again',
    ])
    expect(fake.renewals).toEqual([])
    // 10 s were left: the next try comes after two thirds of them.
    await vi.advanceTimersByTimeAsync(6_665)
    expect(fake.renewals).toEqual([])
    await vi.advanceTimersByTimeAsync(1)
    expect(fake.renewals).toEqual([26_666])
    await renewal.stop()
  })

  it('stops renewing once renewals no longer extend the token (its max TTL), and says when it expires', async () => {
    const fake = fakeToken({ttl: 30, period: 30, maxTtl: 50})
    const warnings: string[] = []
    const renewal = startRenewal(fake.token, (l) => warnings.push(l))
    await vi.advanceTimersByTimeAsync(600_000)
    // At 20 s: to 50 s (30 s left, more than the 10 s it had). At 40 s: still 50 s, no longer than before.
    expect(fake.renewals).toEqual([20_000, 40_000])
    expect(warnings).toEqual(['the OpenBao/Vault token from AppRole approle cannot be renewed further (its maximum TTL); it expires in 10 s'])
    expect(vi.getTimerCount()).toBe(0)
    await renewal.stop()
  })

  it('renewWhile renews for as long as the work runs, and no longer, however it ends', async () => {
    const fake = fakeToken({ttl: 3, period: 3})
    const work = renewWhile(
      fake.token,
      () => new Promise<string>((resolve) => setTimeout(() => resolve('done'), 10_000)),
      () => {},
    )
    await vi.advanceTimersByTimeAsync(10_000)
    expect(await work).toBe('done')
    expect(fake.renewals).toEqual([2000, 4000, 6000, 8000])
    expect(vi.getTimerCount()).toBe(0)

    const failing = renewWhile(
      fake.token,
      () => Promise.reject(new Error('the command failed')),
      () => {},
    )
    await expect(failing).rejects.toThrow('the command failed')
    expect(vi.getTimerCount()).toBe(0)
  })
})
