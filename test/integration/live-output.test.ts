// verify and list on a terminal, with one server that never answers: each row shows as soon as it
// is known, and a status line on stderr says what is still awaited, where, and for how long.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type BadHomeserver, json, startBadHomeserver} from '../support/bad-homeserver.js'
import {runCli, tempDir} from '../support/cli.js'
import {mxtokOnPty, type PtyChunk} from '../support/pty.js'
import {keepTokens, writeRegistry} from '../support/seed.js'
import {service} from '../support/services.js'

const keyringEnv = await service('keyringEnv')
const USER = '@live:live.example'
const TIMEOUT_S = 5
let fast: BadHomeserver
let slow: BadHomeserver
let configDir: string

const token = (name: string) => `syt_live_${name}_token_Xq3LmZ8p`
const sessions = [
  ['fast1', () => fast.url],
  ['fast2', () => fast.url],
  ['hung', () => slow.url],
] as const

beforeAll(async () => {
  fast = await startBadHomeserver()
  slow = await startBadHomeserver()
  const byToken = new Map(sessions.map(([name]) => [`Bearer ${token(name)}`, deriveDeviceId(USER, name)]))
  fast.routes.set('GET /_matrix/client/v3/account/whoami', (req, res) => json(res, 200, {user_id: USER, device_id: byToken.get(req.authorization ?? '')}))
  fast.routes.set('GET /_matrix/client/v3/devices', (_, res) =>
    json(res, 200, {
      devices: sessions.map(([name]) => ({device_id: deriveDeviceId(USER, name), last_seen_ip: '203.0.113.7', last_seen_ts: 1_790_000_000_000})),
    }),
  )
  // Never answers: the request runs into mxtok's timeout.
  slow.routes.set('GET /_matrix/client/v3/account/whoami', () => {})
  slow.routes.set('GET /_matrix/client/v3/devices', () => {})
  configDir = tempDir('mxtok-live-')
  // The hung session is of another account, so that list asks the slow server for its devices.
  await writeRegistry(
    configDir,
    sessions.map(([name, url]) => ({
      name,
      userId: name === 'hung' ? '@hung:live.example' : USER,
      homeserver: url(),
      deviceId: deriveDeviceId(USER, name),
      createdAt: '2026-01-01T00:00:00.000Z',
      store: 'keychain' as const,
      auth: 'password',
    })),
  )
  await keepTokens(
    keyringEnv,
    new Map(sessions.map(([name]) => [`${name === 'hung' ? '@hung:live.example' : USER}/${deriveDeviceId(USER, name)}`, token(name)])),
  )
})
afterAll(async () => {
  await fast?.close()
  await slow?.close()
})

const env = () => ({...keyringEnv, HOME: configDir, MXTOK_CONFIG_DIR: configDir, MXTOK_TIMEOUT: String(TIMEOUT_S)})
/** When (ms after the start) a text first appeared on fd 1 or 2. */
function firstSeen(chunks: PtyChunk[], fd: 1 | 2, text: string | RegExp): number {
  let sofar = ''
  for (const c of chunks.filter((c) => c.fd === fd)) {
    sofar += c.text
    if (typeof text === 'string' ? sofar.includes(text) : text.test(sofar)) return c.t
  }
  return Infinity
}
const slowHost = () => new URL(slow.url).host

describe('live output on a terminal', () => {
  it('verify shows each row when it is known, and says what it waits for and until when', async () => {
    const r = await mxtokOnPty(['verify'], {env: env(), split: true, cols: 160})
    expect(r.code).toBe(5)
    const fastRow = firstSeen(r.chunks, 1, /fast1 +│ valid/)
    const hungRow = firstSeen(r.chunks, 1, /hung +│ unreachable/)
    const end = r.chunks.at(-1)!.t
    // The fast rows long before the timeout; the hung one at it.
    expect(fastRow).toBeLessThan(end - 3000)
    expect(firstSeen(r.chunks, 1, /fast2 +│ valid/)).toBeLessThan(end - 3000)
    expect(hungRow).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 500)
    // After a second, the status line names what is awaited; after a few, how long until the timeout.
    const naming = firstSeen(r.chunks, 2, `checking 1 of 3: ${slowHost()} (hung)`)
    expect(naming).toBeGreaterThanOrEqual(900)
    expect(naming).toBeLessThan(2500)
    expect(firstSeen(r.chunks, 2, new RegExp(`${slowHost().replace(/\./g, '\\.')} \\(hung\\): waiting [34] s, times out in [12] s`))).toBeLessThan(hungRow)
    // The status line is gone at the end, and the table is whole on stdout.
    expect(r.stderr.endsWith('\r\x1b[2K')).toBe(true)
    const lines = r.stdout.replace(/\r/g, '').trimEnd().split('\n')
    expect(lines[0]).toMatch(/^┌/)
    expect(lines.at(-1)).toMatch(/^└/)
    expect(lines).toHaveLength(3 + 3 + 1)
    expect(r.stdout).not.toContain('\x1b')
  }, 30_000)

  it('list shows the rows of an account as soon as its devices arrive', async () => {
    const r = await mxtokOnPty(['list'], {env: env(), split: true, cols: 200})
    const end = r.chunks.at(-1)!.t
    expect(firstSeen(r.chunks, 1, /fast1 +│ @live:live\.example .*│ yes/)).toBeLessThan(end - 3000)
    expect(firstSeen(r.chunks, 1, /hung +│ @hung:live\.example .*│ unknown/)).toBeGreaterThanOrEqual(TIMEOUT_S * 1000 - 500)
    expect(firstSeen(r.chunks, 2, `listing 1 of 3: ${slowHost()} (hung)`)).toBeLessThan(2500)
    expect(r.stderr).toMatch(/mxtok: warning: @hung:live\.example\b.*: could not list devices/)
  }, 30_000)

  it('piped, or with --json, the output is whole and there is no status line', async () => {
    const piped = await runCli(['verify'], {env: env()})
    expect(piped.code).toBe(5)
    expect(piped.stderr).toBe('')
    expect(
      piped.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(['NAME', 'fast1', 'fast2', 'hung'])
    const json = await mxtokOnPty(['verify', '--json'], {env: env(), split: true})
    expect(json.stderr).toBe('')
    expect(JSON.parse(json.stdout.replace(/\r/g, '')).map((r: {status: string}) => r.status)).toEqual(['valid', 'valid', 'unreachable'])
  }, 30_000)
})
