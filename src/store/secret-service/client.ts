import {BusFailure, DBusConnection, DBusError} from './dbus-connection.js'
import type {Message, Variant} from './dbus-wire.js'
import {decryptSecret, encryptSecret, keyAgreement} from './secret-crypto.js'

export const SECRETS = 'org.freedesktop.secrets'
export const SECRETS_PATH = '/org/freedesktop/secrets'
const SERVICE = 'org.freedesktop.Secret.Service'
const PROMPT = 'org.freedesktop.Secret.Prompt'
/** Where clients such as libsecret and the keychain binding keep new items. */
const DEFAULT_COLLECTION = `${SECRETS_PATH}/aliases/default`
/** An object path meaning "none": a call that needs no prompt answers it for its prompt. */
const NO_PROMPT = '/'

/**
 * The one algorithm every Secret Service offers besides "plain", which would put the secrets on
 * the bus in the clear for any eavesdropper the bus lets in.
 */
const ALGORITHM = 'dh-ietf1024-sha256-aes128-cbc-pkcs7'

/** Searches kept under way at once: enough that the service is never idle waiting for the next. */
const SEARCHES_UNDER_WAY = 32
/** Found items whose secrets are asked for together: as many as a command works on at once. */
const READ_BATCH = 16

/**
 * What the Secret Service holds for one set of attributes. "locked": locked items only, or nothing
 * found while the default collection is locked (KeePassXC then finds nothing at all). "unclear":
 * more than one item, or a value that does not read as UTF-8 text.
 */
export type SecretLookup = {found: 'none'} | {found: 'one'; secret: string} | {found: 'locked'} | {found: 'unclear'}

/**
 * How a write or delete went. Not done: the collection is locked and no prompt unlocked it, there
 * is no default collection, or the service refused.
 */
export type SecretChange = {done: true; items: number} | {done: false}

/**
 * Whether an item can go in now: "no session" carries the error with which the service refused an
 * encrypted session (KWallet without QCA's plugins offers only "plain").
 */
export type Writability = 'yes' | 'locked' | 'no collection' | {noSession: string}

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
 * Reads and writes secrets in the Secret Service over one connection and one encrypted session,
 * opened at the first call and kept for the life of the client. While a call waits, the bus may
 * stay silent for at most `timeoutMs`: past that the connection ends, and the client then fails at once.
 */
export class SecretServiceClient {
  private connection?: DBusConnection
  private opened?: Promise<string>
  private session?: Promise<Session>
  /** Whether the default collection is locked, asked once for every search that finds nothing. */
  private defaultLocked?: Promise<boolean>

  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {}

  /** One answer for each set of attributes, in order. */
  lookup(queries: Record<string, string>[]): Promise<SecretLookup[]> {
    return Promise.all(this.lookupEach(queries))
  }

  /**
   * One answer for each set of attributes, each settled as soon as it is known. The service answers
   * in order, at about a millisecond per search of a thousand items: a few searches are kept under
   * way so it never waits on us, and the secrets of every few found items are asked for between
   * them, so a caller can start on the first secrets long before the last search is done.
   */
  lookupEach(queries: Record<string, string>[]): Promise<SecretLookup>[] {
    const answers = queries.map(() => {
      let settle!: {resolve: (a: SecretLookup) => void; reject: (e: unknown) => void}
      const promise = new Promise<SecretLookup>((resolve, reject) => (settle = {resolve, reject}))
      promise.catch(() => {})
      return {promise, ...settle}
    })
    // The searches need no session: they go out with the key exchange, not after it.
    const all = this.plain(
      (connection, opened) =>
        new Promise<void>((resolve, reject) => {
          const session = this.openSession(connection, opened)
          let next = 0
          let searching = 0
          let reading = 0
          let found: {index: number; item: string}[] = []
          const read = (batch: {index: number; item: string}[]) => {
            reading++
            session
              .then((s) =>
                readSecrets(
                  connection,
                  s,
                  batch.map((f) => f.item),
                ),
              )
              .then((secrets) => {
                for (const {index, item} of batch) {
                  const secret = secrets.get(item)
                  answers[index].resolve(secret === undefined ? {found: 'unclear'} : {found: 'one', secret})
                }
                reading--
                settleWhenDone()
              }, reject)
          }
          const settleWhenDone = () => {
            if (next === queries.length && searching === 0 && reading === 0) resolve()
          }
          const searchMore = () => {
            // Few at first, so the first secret is not queued behind many searches.
            while (searching < Math.min(SEARCHES_UNDER_WAY, 2 + 2 * (next - searching)) && next < queries.length) {
              const index = next++
              searching++
              searchItems(connection, queries[index]).then(([unlocked, locked]) => {
                searching--
                if (unlocked.length + locked.length === 0) {
                  const answer = answers[index]
                  reading++
                  this.lockedNow(connection).then((isLocked) => {
                    answer.resolve({found: isLocked ? 'locked' : 'none'})
                    reading--
                    settleWhenDone()
                  }, reject)
                } else if (unlocked.length === 1 && locked.length === 0) found.push({index, item: unlocked[0]})
                else if (unlocked.length === 0) answers[index].resolve({found: 'locked'})
                else answers[index].resolve({found: 'unclear'})
                // The first secret is read at once; then a batch at a time, or what is left at the end.
                if (found.length >= READ_BATCH || (found.length > 0 && (index === 0 || (next === queries.length && searching === 0)))) {
                  read(found)
                  found = []
                }
                searchMore()
                settleWhenDone()
              }, reject)
            }
          }
          searchMore()
          settleWhenDone()
        }),
    )
    // Answers already given stand; the rest fail with the connection.
    all.catch((error: unknown) => {
      for (const a of answers) a.reject(error)
    })
    return answers.map((a) => a.promise)
  }

  /**
   * Whether an item can go in now without a prompt: the default collection exists and is unlocked,
   * and the service gives us an encrypted session (asked at once, so the key exchange for the
   * coming write runs meanwhile).
   */
  writable(): Promise<Writability> {
    return this.plain(async (connection, opened) => {
      const session = this.openSession(connection, opened).then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof DBusError && unreachableReason(error) === undefined) return {noSession: error.errorName}
          throw error
        },
      )
      // Either may fail first; the other's failure must not go unhandled.
      session.catch(() => {})
      const reply = await refusedIsUnclear(connection.call(lockedQuery()))
      const refused = await session
      if (refused) return refused
      if (!reply) {
        // Only the service can say there is no default collection: any other refusal is reported as it is.
        const alias = await connection.call({
          destination: SECRETS,
          path: SECRETS_PATH,
          interface: SERVICE,
          member: 'ReadAlias',
          signature: 's',
          body: ['default'],
        })
        if ((bodyOf(alias, 'ReadAlias', 'o') as [string])[0] === NO_PROMPT) return 'no collection'
        const again = await connection.call(lockedQuery())
        const [locked] = bodyOf(again, 'Get', 'v') as [Variant]
        return locked.signature === 'b' && locked.value === false ? 'yes' : 'locked'
      }
      const [locked] = bodyOf(reply, 'Get', 'v') as [Variant]
      return locked.signature === 'b' && locked.value === false ? 'yes' : 'locked'
    })
  }

  /**
   * Asks the service to unlock the default collection, and completes the prompt that it answers
   * with: a desktop shows its unlock dialog; kwalletd5 with its wallet opened at login completes
   * it with no window. True when the collection was unlocked within the timeout.
   */
  unlock(): Promise<boolean> {
    this.defaultLocked = undefined
    return this.plain(async (connection) => {
      const alias = await refusedIsUnclear(
        connection.call({destination: SECRETS, path: SECRETS_PATH, interface: SERVICE, member: 'ReadAlias', signature: 's', body: ['default']}),
      )
      const [collection] = alias ? (bodyOf(alias, 'ReadAlias', 'o') as [string]) : [NO_PROMPT]
      if (collection === NO_PROMPT) return false
      const reply = await refusedIsUnclear(
        connection.call({destination: SECRETS, path: SECRETS_PATH, interface: SERVICE, member: 'Unlock', signature: 'ao', body: [[collection]]}),
      )
      if (!reply) return false
      const [unlocked, prompt] = bodyOf(reply, 'Unlock', 'aoo') as [string[], string]
      if (prompt === NO_PROMPT) return unlocked.length > 0
      return this.completePrompt(connection, prompt)
    })
  }

  /** Stores the secret in the default collection, in place of any item with exactly these attributes. */
  store(attributes: Record<string, string>, label: string, secret: string): Promise<SecretChange> {
    return this.work(async (connection, session) => {
      const {parameters, value} = encryptSecret(session.key, secret)
      const properties = {
        'org.freedesktop.Secret.Item.Label': {signature: 's', value: label},
        'org.freedesktop.Secret.Item.Attributes': {signature: 'a{ss}', value: attributes},
      }
      let reply: Message | undefined
      try {
        reply = await refusedIsUnclear(
          connection.call({
            destination: SECRETS,
            path: DEFAULT_COLLECTION,
            interface: 'org.freedesktop.Secret.Collection',
            member: 'CreateItem',
            signature: 'a{sv}(oayays)b',
            body: [properties, [session.path, parameters, value, 'text/plain'], true],
          }),
        )
      } finally {
        value.fill(0)
      }
      if (!reply) return {done: false}
      const [, prompt] = bodyOf(reply, 'CreateItem', 'oo') as [string, string]
      return prompt === NO_PROMPT || (await this.completePrompt(connection, prompt)) ? {done: true, items: 1} : {done: false}
    })
  }

  /** Deletes every item with these attributes; not done when any of them is locked. */
  remove(attributes: Record<string, string>): Promise<SecretChange> {
    return this.plain(async (connection) => {
      const [unlocked, locked] = await searchItems(connection, attributes)
      if (locked.length > 0) return {done: false}
      for (const item of unlocked) {
        const reply = await refusedIsUnclear(connection.call({destination: SECRETS, path: item, interface: 'org.freedesktop.Secret.Item', member: 'Delete'}))
        if (!reply) return {done: false}
        const [prompt] = bodyOf(reply, 'Delete', 'o') as [string]
        if (prompt !== NO_PROMPT && !(await this.completePrompt(connection, prompt))) return {done: false}
      }
      return {done: true, items: unlocked.length}
    })
  }

  /**
   * Runs a prompt to its end. KeePassXC answers every CreateItem and Item.Delete with one, even
   * unlocked, that completes at once with no window; a locked collection's prompt may wait for a
   * person, for at most the timeout, and is then dismissed. True when it completed, not dismissed.
   */
  private async completePrompt(connection: DBusConnection, prompt: string): Promise<boolean> {
    await connection.call({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: [`type='signal',interface='${PROMPT}',member='Completed',path='${prompt}'`],
    })
    const completed = connection.signal({path: prompt, interface: PROMPT, member: 'Completed'}, this.timeoutMs)
    completed.catch(() => {})
    // The wait has the deadline: a Prompt call that itself never returns is bounded too.
    const shown = refusedIsUnclear(connection.call({destination: SECRETS, path: prompt, interface: PROMPT, member: 'Prompt', signature: 's', body: ['']}))
    shown.catch(() => {})
    const body = await Promise.race([completed, shown.then((reply) => (reply ? completed : undefined))])
    if (!body) {
      await connection.call({destination: SECRETS, path: prompt, interface: PROMPT, member: 'Dismiss'}).catch(() => {})
      return false
    }
    return body[0] === false
  }

  private lockedNow(connection: DBusConnection): Promise<boolean> {
    this.defaultLocked ??= refusedIsUnclear(connection.call(lockedQuery())).then((reply) => {
      if (!reply) return false
      const [locked] = bodyOf(reply, 'Get', 'v') as [Variant]
      return locked.value === true
    })
    return this.defaultLocked
  }

  private work<T>(fn: (connection: DBusConnection, session: Session) => Promise<T>): Promise<T> {
    const [connection, opened] = this.connect()
    const session = this.openSession(connection, opened)
    return connection.within(this.timeoutMs, noAnswerWithin(this.timeoutMs), async () => fn(connection, await session))
  }

  /** Work that needs no encrypted session: its calls queue behind the handshake, no key exchange to wait for. */
  private plain<T>(fn: (connection: DBusConnection, opened: Promise<string>) => Promise<T>): Promise<T> {
    const [connection, opened] = this.connect()
    return connection.within(this.timeoutMs, noAnswerWithin(this.timeoutMs), async () => (await Promise.all([opened, fn(connection, opened)]))[1])
  }

  private connect(): [DBusConnection, Promise<string>] {
    this.connection ??= new DBusConnection(this.socketPath)
    const connection = this.connection
    if (!this.opened) {
      this.opened = connection.open()
      this.opened.catch(() => {})
    }
    return [connection, this.opened]
  }

  private openSession(connection: DBusConnection, opened: Promise<string>): Promise<Session> {
    if (!this.session) {
      this.session = openSession(connection, opened)
      this.session.catch(() => {})
    }
    return this.session
  }

  close(): void {
    this.connection?.close()
  }
}

/** A refusal from the service (not the bus) is for the caller's fallback to explain: undefined. */
async function refusedIsUnclear(call: Promise<Message>): Promise<Message | undefined> {
  try {
    return await call
  } catch (error) {
    if (error instanceof DBusError && unreachableReason(error) === undefined) return undefined
    throw error
  }
}

const lockedQuery = () => ({
  destination: SECRETS,
  path: DEFAULT_COLLECTION,
  interface: 'org.freedesktop.DBus.Properties',
  member: 'Get',
  signature: 'ss',
  body: ['org.freedesktop.Secret.Collection', 'Locked'],
})

async function openSession(connection: DBusConnection, opened: Promise<string>): Promise<Session> {
  // A key the service may derive otherwise (see sessionKey) is agreed afresh: one time in 256.
  for (let attempt = 1; ; attempt++) {
    // Sent before the bus has answered the handshake, and the key made while it does: each round
    // trip and each millisecond of key generation shows in every command's time.
    const agreement = keyAgreement()
    const [, reply] = await Promise.all([
      opened,
      connection.call({
        destination: SECRETS,
        path: SECRETS_PATH,
        interface: SERVICE,
        member: 'OpenSession',
        signature: 'sv',
        body: [ALGORITHM, {signature: 'ay', value: agreement.publicValue}],
      }),
    ])
    const [output, path] = bodyOf(reply, 'OpenSession', 'vo') as [Variant, string]
    if (output.signature !== 'ay') throw new Error(`OpenSession answered a "${output.signature}", not the service's public key`)
    const key = agreement.sessionKey(output.value as Buffer)
    if (key) return {path, key}
    if (attempt === 8) throw new Error('the Secret Service and mxtok could not agree on a session key')
  }
}

/** The paths of the items with these attributes: [unlocked, locked]. */
async function searchItems(connection: DBusConnection, attributes: Record<string, string>): Promise<[string[], string[]]> {
  const reply = await connection.call({
    destination: SECRETS,
    path: SECRETS_PATH,
    interface: SERVICE,
    member: 'SearchItems',
    signature: 'a{ss}',
    body: [attributes],
  })
  return bodyOf(reply, 'SearchItems', 'aoao') as [string[], string[]]
}

/** The secrets of unlocked items, by item path; an item the service does not return is left out. */
async function readSecrets(connection: DBusConnection, session: Session, items: string[]): Promise<Map<string, string>> {
  const secrets = new Map<string, string>()
  if (items.length === 0) return secrets
  const reply = await connection.call({
    destination: SECRETS,
    path: SECRETS_PATH,
    interface: SERVICE,
    member: 'GetSecrets',
    signature: 'aoo',
    body: [items, session.path],
  })
  const [values] = bodyOf(reply, 'GetSecrets', 'a{o(oayays)}') as [Map<string, [string, Buffer, Buffer, string]>]
  for (const [item, [, parameters, value]] of values) {
    const secret = decryptSecret(session.key, parameters, value)
    value.fill(0)
    if (secret !== undefined) secrets.set(item, secret)
  }
  return secrets
}

function bodyOf(reply: Message, member: string, signature: string) {
  if ((reply.signature ?? '') !== signature) throw new Error(`${member} answered "${reply.signature ?? ''}", not "${signature}"`)
  return reply.body ?? []
}
