// Node's timers take at most 2^31-1 ms (about 24.8 days); a longer one fires at once, with a warning.
const MAX_TIMER_MS = 2 ** 31 - 1

/** A timeout from the environment in seconds, as milliseconds: a bad or absent value gives `fallback`. */
export function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name])
  return Number.isFinite(value) && value > 0 ? Math.min(value * 1000, MAX_TIMER_MS) : fallback
}

/** How long a request to a homeserver may take in all: MXTOK_TIMEOUT seconds, default 30. */
export const requestTimeoutMs = (env: NodeJS.ProcessEnv) => seconds(env, 'MXTOK_TIMEOUT', 30_000)
