import {noAnswerWithin, SECRETS, SECRETS_PATH} from './client.js'
import {DBusConnection, DBusError, unixSocketPath} from './dbus-connection.js'

export {unixSocketPath}

export type ProbeResult = {ok: true} | {ok: false; reason: string}

/**
 * Asks the D-Bus session bus, from JavaScript and within a deadline, whether a Secret Service is
 * there and answering. The keychain binding connects to the bus synchronously on the main thread:
 * against a bus or daemon that never answers it blocks the whole process, where no timer can
 * fire. Probing first turns those cases into a clear error in bounded time.
 */
export async function probeSecretService(env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ProbeResult> {
  const address = env.DBUS_SESSION_BUS_ADDRESS
  if (!address) return {ok: false, reason: 'there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set, as in an SSH login without a desktop)'}
  const path = unixSocketPath(address)
  // Other transports (tcp:, launchd:) are left to the binding itself.
  if (!path) return {ok: true}
  const connection = new DBusConnection(path)
  try {
    await connection.within(timeoutMs, noAnswerWithin(timeoutMs), async () => {
      await connection.open()
      await connection.call({destination: SECRETS, path: SECRETS_PATH, interface: 'org.freedesktop.DBus.Peer', member: 'Ping'})
    })
    return {ok: true}
  } catch (error) {
    if (error instanceof DBusError) return {ok: false, reason: `no Secret Service answers on the D-Bus session bus (${error.errorName})`}
    return {ok: false, reason: (error as Error).message}
  } finally {
    connection.close()
  }
}
