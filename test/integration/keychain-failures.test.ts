import {createServer, type Server} from 'node:net'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type CliResult, runCli, tempDir} from '../support/cli.js'
import {type KeyringSession, startKeyring} from '../support/keyring.js'
import {service} from '../support/services.js'
import {registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const PASSWORD = 'keychain failure password'

let userId: string
let own: KeyringSession
let configDir: string

/** Devices of the account, asked with a throwaway login that the filter hides. */
async function serverDevices(): Promise<string[]> {
  const login = await fetch(`${synapse.baseUrl}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: {'content-type': 'application/json'},
    body: JSON.stringify({type: 'm.login.password', identifier: {type: 'm.id.user', user: userId}, password: PASSWORD, device_id: 'OBSERVER'}),
  }).then((r) => r.json() as Promise<{access_token: string}>)
  const res = await fetch(`${synapse.baseUrl}/_matrix/client/v3/devices`, {headers: {authorization: `Bearer ${login.access_token}`}})
  return ((await res.json()) as {devices: {device_id: string}[]}).devices.map((d) => d.device_id).filter((d) => d !== 'OBSERVER' && !/^[A-Z]{10}$/.test(d))
}

const mxtok = (args: string[], env: Record<string, string | undefined>) =>
  runCli(args, {env: {HOME: configDir, MXTOK_CONFIG_DIR: configDir, MXTOK_PASSWORD: PASSWORD, MXTOK_KEYCHAIN_TIMEOUT: '1', ...env}, timeoutMs: 10_000})

const create = (name: string, env: Record<string, string | undefined>) => mxtok(['create', name, '--user', userId, '--homeserver', synapse.baseUrl], env)

function expectKeychainError(r: CliResult, why: RegExp) {
  expect(r.code, `${r.stderr}${r.stdout}`).toBe(6)
  expect(r.stderr.trim().split('\n')).toHaveLength(1)
  expect(r.stderr).toMatch(why)
  expect(r.stderr).not.toContain(PASSWORD)
}

beforeAll(async () => {
  userId = await registerUser(synapse, `keyfail${process.pid}`, PASSWORD)
  own = await startKeyring()
  configDir = tempDir('mxtok-keyfail-')
})
afterAll(async () => {
  await own?.stop()
})

describe('when the keychain cannot be used, mxtok exits 6 quickly and leaves no device behind', () => {
  // A locked collection: over every Secret Service, in keychain-services.test.ts.

  it('a bus that accepts connections and never answers', async () => {
    expect((await create('before-lock', own.env)).code).toBe(0)
    const socket = join(tempDir('mxtok-silent-bus-'), 'bus')
    const server: Server = createServer(() => {}).listen(socket)
    try {
      const r = await create('silent', {...own.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${socket}`})
      expectKeychainError(r, /did not answer within 1 s/)
      // A read goes through mxtok's own Secret Service reader, not the binding: the same answer.
      expectKeychainError(await mxtok(['token', 'before-lock'], {...own.env, DBUS_SESSION_BUS_ADDRESS: `unix:path=${socket}`}), /did not answer within 1 s/)
    } finally {
      server.close()
    }
  })

  it('a bus with no Secret Service on it', async () => {
    const gone = await startKeyring()
    // Only the keyring daemon stops; its private bus stays up with nobody owning the secrets name.
    const env = {...gone.env}
    await gone.stopDaemon()
    try {
      expectKeychainError(await create('nodaemon', env), /no Secret Service answers on the D-Bus session bus \(org\.freedesktop\.DBus\.Error\.ServiceUnknown\)/)
      expectKeychainError(
        await mxtok(['token', 'before-lock'], env),
        /no Secret Service answers on the D-Bus session bus \(org\.freedesktop\.DBus\.Error\.ServiceUnknown\)/,
      )
    } finally {
      await gone.stop()
    }
  })

  it('a bus address pointing nowhere', async () => {
    expectKeychainError(
      await create('nowhere', {...own.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus'}),
      /cannot connect to the D-Bus session bus \(ENOENT\)/,
    )
    expectKeychainError(
      await mxtok(['token', 'before-lock'], {...own.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus'}),
      /cannot connect to the D-Bus session bus \(ENOENT\)/,
    )
    expect(await serverDevices()).toHaveLength(1)
  })
})
