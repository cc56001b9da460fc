// Reads a secret from a Secret Service as a test checks it from outside mxtok: over a "plain"
// session of its own. secret-tool cannot do this reliably against KWallet: libsecret's key exchange
// fails there about one session in 256 (see secret-tool.ts), and a lookup
// that fails so says nothing and exits 1, exactly as when there is no such item.
import {SECRETS, SECRETS_PATH} from '../../src/store/secret-service/client.js'
import {DBusConnection, unixSocketPath} from '../../src/store/secret-service/dbus-connection.js'
import {openPlainSession} from './secret-writer.js'

const TIMEOUT_MS = 10_000

/** The secret of the first unlocked item with these attributes, as `secret-tool lookup` prints it; '' when there is none. */
export async function readSecret(env: {DBUS_SESSION_BUS_ADDRESS?: string}, attributes: Record<string, string>): Promise<string> {
  const address = env.DBUS_SESSION_BUS_ADDRESS ?? ''
  const socket = unixSocketPath(address)
  if (!socket) throw new Error(`no Unix socket in the bus address ${address}`)
  const bus = new DBusConnection(socket)
  try {
    return await bus.within(TIMEOUT_MS, `the Secret Service did not answer within ${TIMEOUT_MS} ms`, async () => {
      await bus.open()
      const service = {destination: SECRETS, path: SECRETS_PATH, interface: 'org.freedesktop.Secret.Service'}
      const found = await bus.call({...service, member: 'SearchItems', signature: 'a{ss}', body: [attributes]})
      const [unlocked] = (found.body ?? [[]]) as [string[]]
      if (unlocked.length === 0) return ''
      const session = await openPlainSession(bus)
      const got = await bus.call({...service, member: 'GetSecrets', signature: 'aoo', body: [unlocked.slice(0, 1), session]})
      const [secrets] = (got.body ?? [new Map()]) as [Map<string, [string, Buffer, Buffer, string]>]
      const secret = secrets.get(unlocked[0])
      return secret ? secret[2].toString('utf8') : ''
    })
  } finally {
    bus.close()
  }
}
