// mxtok never leaves the Secret Service with a call it has stopped waiting for. gnome-keyring 42
// handles a call whose client has gone after it has forgotten the client, and aborts
// (gkd_secret_service_get_pkcs11_session: assertion 'client' failed; upstream #190): a command
// that exits, or is interrupted, with its reads under way would take the user's keyring down.
import {spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import type {Session} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {type Relay, startRelay} from '../support/bus-relay.js'
import {BIN, runCli, tempDir} from '../support/cli.js'
import {keepTokens, writeRegistry} from '../support/seed.js'
import {service} from '../support/services.js'

const keyringEnv = await service('keyringEnv')
// Nothing listens here: every request to the homeserver fails at once, long before the keyring
// has answered 200 searches.
const DEAD_HOMESERVER = 'http://127.0.0.1:9'
const USER = `@exit${process.pid}:example.test`

let relay: Relay
let configDir: string
const sessions: Session[] = Array.from({length: 200}, (_, i) => {
  const name = `exit-${i}`
  return {
    name,
    userId: USER,
    homeserver: DEAD_HOMESERVER,
    deviceId: deriveDeviceId(USER, name),
    createdAt: new Date(0).toISOString(),
    store: 'keychain',
    auth: 'password',
  }
})

beforeAll(async () => {
  await keepTokens(keyringEnv, new Map(sessions.map((s) => [secretAccount(s.userId, s.deviceId), `syt_${randomBytes(12).toString('hex')}`])), {
    collection: 'session',
  })
  configDir = tempDir('mxtok-exit-')
  // One more session, whose token the keyring does not hold.
  await writeRegistry(configDir, [...sessions, {...sessions[0], auth: 'password', name: 'missing', deviceId: deriveDeviceId(USER, 'missing')}])
  relay = await startRelay(keyringEnv.DBUS_SESSION_BUS_ADDRESS)
})

afterAll(() => relay?.stop())

const env = () => ({...keyringEnv, DBUS_SESSION_BUS_ADDRESS: relay.address, HOME: configDir, MXTOK_CONFIG_DIR: configDir})
const mxtok = (args: string[]) => runCli(args, {env: env()})
// The relay sees the client's close a moment after mxtok has exited.
const closeSeen = () => new Promise((resolve) => setTimeout(resolve, 200))

describe('leaving the Secret Service', () => {
  it.each([
    ['list, its homeserver down', ['list'], 0],
    ['verify, its homeserver down', ['verify'], 4],
    ['token', ['token', 'exit-3'], 0],
    ['token of a session whose token is gone', ['token', 'missing'], 4],
  ])('%s: every call is answered before mxtok goes', async (_, args, code) => {
    relay.unanswered.length = 0
    const before = relay.calls.length
    const r = await mxtok(args as string[])
    expect(r.code, r.stderr).toBe(code)
    expect(relay.calls.length, 'mxtok made no call to the bus').toBeGreaterThan(before)
    await closeSeen()
    expect(relay.unanswered.map((c) => c.member)).toEqual([])
  })

  it('interrupted (Ctrl-C, SIGTERM, SIGHUP) while reads are under way, waits for their answers, then ends by the signal', async () => {
    const left: string[] = []
    // The signal goes when the keyring has been asked for this many tokens of the 200: before,
    // calls were left unanswered at most such moments.
    for (const [signal, searches] of [
      ['SIGINT', 1],
      ['SIGINT', 20],
      ['SIGTERM', 50],
      ['SIGINT', 90],
      ['SIGHUP', 130],
      ['SIGINT', 170],
    ] as const) {
      relay.unanswered.length = 0
      const asked = () => relay.calls.filter((c) => c.member === 'SearchItems').length
      const before = asked()
      const child = spawn(process.execPath, [BIN, 'verify'], {env: {...process.env, ...env()}, stdio: 'ignore'})
      const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])))
      while (asked() - before < searches && child.exitCode === null) await new Promise((resolve) => setImmediate(resolve))
      child.kill(signal)
      const [code, ended] = await exited
      await closeSeen()
      expect(ended, `verify ended with ${code ?? ended} after ${signal} at ${searches} searches`).toBe(signal)
      left.push(...relay.unanswered.map((c) => `${signal} at ${searches} searches: ${c.member}`))
    }
    expect(left).toEqual([])
  })
})
