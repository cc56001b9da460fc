/** Requests under way, by homeserver host: when each began. */
export type InFlight = Map<string, number[]>

/**
 * The HTTP layer's onRequest for the clients of one homeserver: records each request while it is
 * under way, so that a status line can say which server a command is waiting for and for how long.
 */
export const recordRequests =
  (inFlight: InFlight, host: string, now: () => number = Date.now) =>
  (): (() => void) => {
    const started = now()
    const list = inFlight.get(host) ?? []
    list.push(started)
    inFlight.set(host, list)
    return () => {
      list.splice(list.indexOf(started), 1)
      if (list.length === 0 && inFlight.get(host) === list) inFlight.delete(host)
    }
  }
