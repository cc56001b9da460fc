/**
 * scrypt cost: N=2^15, r=8, p=1 takes 32 MiB and about 0.1-0.25 s here — slow enough to make
 * guessing a passphrase expensive, fast enough for every command that reads a token.
 */
export const KDF_DEFAULTS = {N: 2 ** 15, r: 8, p: 1} as const

/**
 * What mxtok computes for a file's header, which anyone who can write the file can set: N·r·p at
 * most 2^20, four times the default, is at most 128 MiB and 1 s here (N=2^17, r=8), where
 * N=2^20, r=32, p=16 took 166 s and 4.2 GB. r from 8, the default, also keeps N within OpenSSL's
 * own limit (N < 2^(16r)), which would otherwise fail as if the passphrase were wrong.
 */
export const KDF_LIMITS = {minN: 2 ** 14, maxN: 2 ** 17, minR: 8, maxR: 32, maxP: 8, maxWork: 2 ** 20} as const

export function kdfWithinLimits({N, r, p}: {N: unknown; r: unknown; p: unknown}): boolean {
  if (![N, r, p].every((v) => Number.isSafeInteger(v) && (v as number) >= 1)) return false
  const [n, rr, pp] = [N, r, p] as number[]
  const powerOfTwo = (n & (n - 1)) === 0
  return (
    powerOfTwo &&
    n >= KDF_LIMITS.minN &&
    n <= KDF_LIMITS.maxN &&
    rr >= KDF_LIMITS.minR &&
    rr <= KDF_LIMITS.maxR &&
    pp <= KDF_LIMITS.maxP &&
    n * rr * pp <= KDF_LIMITS.maxWork
  )
}
