import type {TokenInfo} from './client.js'

/** What the renewer asks of a VaultClient: the token's own lease, and its renewal. */
export interface RenewableToken {
  readonly tokenOrigin: string
  lookupSelf(): Promise<TokenInfo>
  renewSelf(): Promise<{ttl: number; renewable: boolean}>
}

export interface TokenRenewal {
  /** No renewal is started after this; one under way is waited for (it is bounded by the client's retry budget). */
  stop(): Promise<void>
}

/** Renewed at this share of the TTL, as the bao/vault CLIs' lifetime watcher does: a third is left for a failed renewal to be tried again. */
const RENEW_AT = 2 / 3
/** Under this much time left, a renewal is not tried again: the token ends anyway before another could help. */
const LAST_TRY_MS = 1000

/**
 * Keeps a renewable token alive (auth/token/renew-self at about ⅔ of its TTL) until stop(). A
 * token that does not expire (root) or cannot be renewed needs nothing. A renewal that fails
 * is tried again at ⅔ of the time then left; a token whose renewals no longer extend it (its
 * max TTL reached) is left to expire. Each of those is said once through `warn`, and none
 * stops the caller: the token still works until it expires, and the work under way may not
 * need it again. The timer does not keep the process alive.
 */
export function startRenewal(client: RenewableToken, warn: (line: string) => void): TokenRenewal {
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let stopped = false
  /** When the token expires, as last known (ms since the epoch). */
  let expiresAt = 0

  const schedule = (ttlMs: number) => {
    if (stopped) return
    expiresAt = Date.now() + ttlMs
    timer = setTimeout(() => (running = renew()), ttlMs * RENEW_AT)
    timer.unref()
  }

  const renew = async () => {
    const leftMs = expiresAt - Date.now()
    try {
      const renewed = await client.renewSelf()
      const ttlMs = renewed.ttl * 1000
      if (!renewed.renewable || ttlMs <= leftMs) {
        warn(`the OpenBao/Vault token from ${client.tokenOrigin} cannot be renewed further (its maximum TTL); it expires in ${seconds(ttlMs)}`)
        return
      }
      schedule(ttlMs)
    } catch (error) {
      const nowLeftMs = expiresAt - Date.now()
      const again = nowLeftMs > LAST_TRY_MS
      warn(`could not renew the OpenBao/Vault token from ${client.tokenOrigin}: ${(error as Error).message}${again ? '; trying again' : ''}`)
      if (again) schedule(nowLeftMs)
      else expiresAt = 0
    }
  }

  running = (async () => {
    try {
      const info = await client.lookupSelf()
      if (info.renewable && info.ttl > 0) schedule(info.ttl * 1000)
    } catch (error) {
      warn(`could not look up the OpenBao/Vault token from ${client.tokenOrigin}, so it is not renewed: ${(error as Error).message}`)
    }
  })()

  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      // A renewal under way sees `stopped` and schedules no next one.
      await running
    },
  }
}

/** `work` with the token renewed while it runs; the renewal stops when it settles, whichever way. */
export async function renewWhile<T>(client: RenewableToken, work: () => Promise<T>, warn: (line: string) => void): Promise<T> {
  const renewal = startRenewal(client, warn)
  try {
    return await work()
  } finally {
    await renewal.stop()
  }
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`
