import {MatrixClient} from './client.js'
import {LocalErrcode, MatrixError} from './errors.js'
import {parseHomeserverUrl} from './homeserver-url.js'
import {type HttpOptions, requestJson} from './http.js'
import type {UserId} from './user-id.js'

/**
 * Finds the homeserver base URL of a user by the spec's client discovery rules:
 * /.well-known/matrix/client on the server name's host; 404 means "use https://<server name>".
 */
export async function discoverHomeserver(user: UserId, http: HttpOptions = {}): Promise<URL> {
  const wellKnown = new URL(`https://${user.hostname}/.well-known/matrix/client`)
  const where = `${wellKnown.host}'s /.well-known/matrix/client`
  let body: unknown
  try {
    ;({body} = await requestJson({method: 'GET', url: wellKnown, allowCrossOriginRedirect: true}, http))
  } catch (error) {
    if (error instanceof MatrixError && error.status === 404) return new URL(`https://${user.serverName}`)
    if (error instanceof MatrixError && error.status > 0) throw fail(`${where} is not usable (${error.message}); pass --homeserver`)
    throw error
  }
  const hs = (body as Record<string, unknown>)['m.homeserver'] as Record<string, unknown> | undefined
  if (!hs || typeof hs.base_url !== 'string') throw fail(`${where} has no m.homeserver.base_url; pass --homeserver`)
  let base: URL
  try {
    base = parseHomeserverUrl(hs.base_url)
  } catch {
    throw fail(`${where} names an invalid homeserver URL; pass --homeserver`)
  }
  // The spec's FAIL_ERROR: a base URL that does not answer /versions is not a homeserver.
  try {
    await new MatrixClient(base, http).versions()
  } catch (error) {
    if (error instanceof MatrixError) throw fail(`the homeserver ${base.host} named by ${where} does not answer /versions (${error.message})`)
    throw error
  }
  return base
}

const fail = (message: string) => new MatrixError({status: 0, errcode: LocalErrcode.badResponse, message})
