// Writes many secrets to a Secret Service over one D-Bus connection, the calls pipelined: a
// secret-tool process per item costs tens of milliseconds each, minutes for a benchmark's
// thousand sessions. The secrets go in a "plain" session, which the specification allows on the
// session bus; mxtok itself only ever uses an encrypted one.

import {SECRETS, SECRETS_PATH} from '../../src/store/secret-service/client.js'
import {DBusConnection} from '../../src/store/secret-service/dbus-connection.js'

export interface SecretItem {
  label: string
  attributes: Record<string, string>
  secret: string
}

/** Stores the items in a collection (an object path, or a name such as "session"), replacing items with the same attributes. */
export async function writeSecrets(busSocketPath: string, collection: string, items: SecretItem[]): Promise<void> {
  const bus = new DBusConnection(busSocketPath)
  try {
    await bus.open()
    const session = await openPlainSession(bus)
    const path = collection.startsWith('/') ? collection : `${SECRETS_PATH}/collection/${collection}`
    // All at once: the connection keeps no more under way than the bus accepts.
    await Promise.all(
      items.map((item) =>
        bus.call({
          destination: SECRETS,
          path,
          interface: 'org.freedesktop.Secret.Collection',
          member: 'CreateItem',
          signature: 'a{sv}(oayays)b',
          body: [
            {
              'org.freedesktop.Secret.Item.Label': {signature: 's', value: item.label},
              'org.freedesktop.Secret.Item.Attributes': {signature: 'a{ss}', value: item.attributes},
            },
            [session, Buffer.alloc(0), Buffer.from(item.secret, 'utf8'), 'text/plain'],
            true,
          ],
        }),
      ),
    )
  } finally {
    bus.close()
  }
}

/** A session in which secrets travel unencrypted: no key exchange, so nothing that can fail by chance. Returns its path. */
export async function openPlainSession(bus: DBusConnection): Promise<string> {
  const opened = await bus.call({
    destination: SECRETS,
    path: SECRETS_PATH,
    interface: 'org.freedesktop.Secret.Service',
    member: 'OpenSession',
    signature: 'sv',
    body: ['plain', {signature: 's', value: ''}],
  })
  return opened.body?.[1] as string
}
