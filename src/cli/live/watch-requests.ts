import type {Deps} from '../../core/deps.js'
import type {MatrixClient} from '../../matrix/client.js'

/** Requests under way, by homeserver host: when each began. */
export type InFlight = Map<string, number[]>

const WATCHED = new Set<PropertyKey>(['versions', 'whoami', 'devices', 'login', 'logout', 'setDeviceDisplayName', 'deleteDevices'])

/**
 * `target` with `replace`'s methods in place of its own; every other member is the target's, its
 * methods bound to it, so that the target's own state stays where it is.
 */
function intercept<T extends object>(
  target: T,
  replace: (name: PropertyKey, original: (...args: unknown[]) => unknown) => ((...args: unknown[]) => unknown) | undefined,
): T {
  return new Proxy(target, {
    get(t, name) {
      const value = Reflect.get(t, name, t) as unknown
      if (typeof value !== 'function') return value
      const original = (value as (...args: unknown[]) => unknown).bind(t)
      return replace(name, original) ?? original
    },
  })
}

/**
 * The same dependencies, with each homeserver request recorded while it is under way, so that a
 * status line can say which server a command is waiting for and for how long.
 */
export function watchRequests(deps: Deps, now: () => number) {
  const inFlight: InFlight = new Map()
  const client = (homeserver: string | URL): MatrixClient => {
    const host = new URL(homeserver).host
    return intercept(deps.client(homeserver), (name, original) => {
      if (!WATCHED.has(name)) return undefined
      return async (...args: unknown[]) => {
        const started = now()
        const list = inFlight.get(host) ?? []
        list.push(started)
        inFlight.set(host, list)
        try {
          return await original(...args)
        } finally {
          list.splice(list.indexOf(started), 1)
          if (list.length === 0) inFlight.delete(host)
        }
      }
    })
  }
  return {deps: {...deps, client}, inFlight}
}
