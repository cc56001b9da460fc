import {BusFailure, DBusConnection, DBusError} from './dbus-connection.js'
import type {Message, Variant} from './dbus-wire.js'
import {decryptSecret, keyAgreement} from './secret-crypto.js'

export const SECRETS = 'org.freedesktop.secrets'
export const SECRETS_PATH = '/org/freedesktop/secrets'
const SERVICE = 'org.freedesktop.Secret.Service'

/**
 * The one algorithm every Secret Service offers besides "plain", which would put the secrets on
 * the bus in the clear for any eavesdropper the bus lets in.
 */
const ALGORITHM = 'dh-ietf1024-sha256-aes128-cbc-pkcs7'

/** Keeps each GetSecrets reply a few tens of KiB however many items are asked for. */
const GET_SECRETS_CHUNK = 200

/**
 * What the Secret Service holds for one set of attributes. "unclear": only locked items, more
 * than one item, or a value that does not read as UTF-8 text — for a caller that knows how to ask
 * in a way that unlocks, or how to say what is wrong.
 */
export type SecretLookup = {found: 'none'} | {found: 'one'; secret: string} | {found: 'unclear'}

export const noAnswerWithin = (timeoutMs: number) => `the D-Bus session bus or the Secret Service did not answer within ${timeoutMs / 1000} s`

const NO_SERVICE = new Set(['org.freedesktop.DBus.Error.ServiceUnknown', 'org.freedesktop.DBus.Error.NameHasNoOwner'])

/** Why no Secret Service can be reached, when that is what `error` says; undefined for any other failure. */
export function unreachableReason(error: unknown): string | undefined {
  if (error instanceof BusFailure) return error.message
  if (error instanceof DBusError && (NO_SERVICE.has(error.errorName) || error.errorName.startsWith('org.freedesktop.DBus.Error.Spawn.'))) {
    return `no Secret Service answers on the D-Bus session bus (${error.errorName})`
  }
  return undefined
}

interface Session {
  path: string
  key: Buffer
}

/**
 * Reads secrets from the Secret Service over one connection and one encrypted session, opened at
 * the first lookup and kept for the life of the reader. While a lookup waits, the bus may stay
 * silent for at most `timeoutMs`: past that the connection ends, and the reader then fails at once.
 */
export class SecretServiceReader {
  private connection?: DBusConnection
  private session?: Promise<Session>

  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {}

  /** One answer for each set of attributes, in order: all searches are under way at once. */
  lookup(queries: Record<string, string>[]): Promise<SecretLookup[]> {
    const connection = (this.connection ??= new DBusConnection(this.socketPath))
    return connection.within(this.timeoutMs, noAnswerWithin(this.timeoutMs), async () => {
      const session = await (this.session ??= openSession(connection))
      const searches = await Promise.all(
        queries.map((attributes) => connection.call({destination: SECRETS, path: SECRETS_PATH, interface: SERVICE, member: 'SearchItems', signature: 'a{ss}', body: [attributes]})),
      )
      const items = searches.map((reply) => {
        const [unlocked, locked] = bodyOf(reply, 'SearchItems', 'aoao') as [string[], string[]]
        if (unlocked.length + locked.length === 0) return null
        return unlocked.length === 1 && locked.length === 0 ? unlocked[0] : undefined
      })
      const secrets = await readSecrets(connection, session, items.filter((i): i is string => typeof i === 'string'))
      return items.map((item): SecretLookup => {
        if (item === null) return {found: 'none'}
        const secret = item === undefined ? undefined : secrets.get(item)
        return secret === undefined ? {found: 'unclear'} : {found: 'one', secret}
      })
    })
  }

  close(): void {
    this.connection?.close()
  }
}

async function openSession(connection: DBusConnection): Promise<Session> {
  await connection.open()
  const agreement = keyAgreement()
  const reply = await connection.call({
    destination: SECRETS,
    path: SECRETS_PATH,
    interface: SERVICE,
    member: 'OpenSession',
    signature: 'sv',
    body: [ALGORITHM, {signature: 'ay', value: agreement.publicValue}],
  })
  const [output, path] = bodyOf(reply, 'OpenSession', 'vo') as [Variant, string]
  if (output.signature !== 'ay') throw new Error(`OpenSession answered a "${output.signature}", not the service's public key`)
  return {path, key: agreement.sessionKey(output.value as Buffer)}
}

/** The secrets of unlocked items, by item path; an item the service does not return is left out. */
async function readSecrets(connection: DBusConnection, session: Session, items: string[]): Promise<Map<string, string>> {
  const chunks: string[][] = []
  for (let i = 0; i < items.length; i += GET_SECRETS_CHUNK) chunks.push(items.slice(i, i + GET_SECRETS_CHUNK))
  const replies = await Promise.all(
    chunks.map((chunk) => connection.call({destination: SECRETS, path: SECRETS_PATH, interface: SERVICE, member: 'GetSecrets', signature: 'aoo', body: [chunk, session.path]})),
  )
  const secrets = new Map<string, string>()
  for (const reply of replies) {
    const [values] = bodyOf(reply, 'GetSecrets', 'a{o(oayays)}') as [Map<string, [string, Buffer, Buffer, string]>]
    for (const [item, [, parameters, value]] of values) {
      const secret = decryptSecret(session.key, parameters, value)
      value.fill(0)
      if (secret !== undefined) secrets.set(item, secret)
    }
  }
  return secrets
}

function bodyOf(reply: Message, member: string, signature: string) {
  if ((reply.signature ?? '') !== signature) throw new Error(`${member} answered "${reply.signature ?? ''}", not "${signature}"`)
  return reply.body ?? []
}
