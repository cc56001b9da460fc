// A registry edited by hand, damaged, or writable by others; absurd settings. Each gets a sane
// answer from the real binary, and no token goes anywhere it should not.
import {chmodSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type BadHomeserver, json, startBadHomeserver} from '../support/bad-homeserver.js'
import {expectOneLineError, runCli, tempDir} from '../support/cli.js'
import {keepTokens} from '../support/seed.js'
import {service} from '../support/services.js'

const keyringEnv = await service('keyringEnv')
const USER = '@bot:files.example'
const TOKEN = 'syt_token_of_the_good_session'
const DEVICE = deriveDeviceId(USER, 'good')

let hs: BadHomeserver
let configDir: string
const registryPath = () => join(configDir, 'sessions.json')

beforeAll(async () => {
  hs = await startBadHomeserver()
  hs.routes.set('GET /_matrix/client/v3/account/whoami', (req, res) =>
    req.authorization === `Bearer ${TOKEN}`
      ? json(res, 200, {user_id: USER, device_id: DEVICE})
      : json(res, 401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown token'}),
  )
  hs.routes.set('GET /_matrix/client/v3/devices', (_, res) => json(res, 200, {devices: [{device_id: DEVICE}]}))
  hs.routes.set('GET /_matrix/client/versions', (_, res) => json(res, 200, {versions: ['v1.11']}))
})
afterAll(async () => {
  await hs?.close()
})
beforeEach(async () => {
  configDir = tempDir('mxtok-files-')
  hs.seen.length = 0
  // A test may forget the good session, and with it its keychain item.
  await keepTokens(keyringEnv, new Map([[`${USER}/${DEVICE}`, TOKEN]]))
})

const good = () => ({userId: USER, homeserver: hs.url, deviceId: DEVICE, createdAt: '2026-01-01T00:00:00.000Z', store: 'keychain'})
const writeText = (text: string) => writeFileSync(registryPath(), text, {mode: 0o600})
const writeSessions = (sessions: Record<string, unknown>) => writeText(JSON.stringify({version: 1, sessions}, null, 2))
const run = (args: string[], env: Record<string, string> = {}, input?: string) =>
  runCli(args, {env: {...keyringEnv, HOME: configDir, MXTOK_CONFIG_DIR: configDir, ...env}, input, timeoutMs: 40_000})

describe('a registry with damaged entries', () => {
  const damaged = () => ({
    numbers: {...good(), userId: 42, deviceId: 7},
    badurl: {...good(), homeserver: 'not a url'},
    escapes: {...good(), deviceId: 'MXTOK\u001b[2J'},
  })

  it.each([['list'], ['verify'], ['doctor']])('%s names and skips each damaged entry; the good session keeps working', async (command) => {
    writeSessions({good: good(), ...damaged()})
    const r = await run([command])
    expect(r.code).toBe(0)
    expect(r.stderr).not.toMatch(/Cannot read properties|Invalid URL|unexpected error/)
    for (const name of Object.keys(damaged())) expect(r.stderr).toContain(`mxtok: warning: skipping session "${name}" in ${registryPath()}`)
    expect(r.stderr).not.toContain('\u001b')
    if (command !== 'doctor') expect(r.stdout).toMatch(/^good\s/m)
    expect(r.stdout + r.stderr).not.toContain(TOKEN)
  })

  it('a command on the damaged session itself says what is wrong, exit 7; writes keep every other entry', async () => {
    writeSessions({good: good(), ...damaged()})
    const r = await run(['token', 'badurl'])
    expect(r.code).toBe(7)
    expect(r.stdout).toBe('')
    expectOneLineError({...r, stderr: r.stderr.replace(/^mxtok: warning: .*\n/gm, '')})
    expect(r.stderr).toContain(`session "badurl" in ${registryPath()} is damaged ("homeserver" is not an http(s) URL)`)
    // Other entries survive every write, damaged ones included.
    expect((await run(['revoke', 'good', '--local-only'])).code).toBe(0)
    const written = JSON.parse(readFileSync(registryPath(), 'utf8'))
    expect(Object.keys(written.sessions).sort()).toEqual(['badurl', 'escapes', 'numbers'])
  })

  it.each([
    ['not JSON', '{"version": 1, "sessions": {', 'is not valid JSON'],
    ['an unknown format', '{"version": 9, "sessions": {}}', 'has an unknown format (version 9)'],
    [
      'a key twice',
      `{"version": 1, "sessions": {"good": ${JSON.stringify({userId: USER, homeserver: 'https://a.example', deviceId: 'A', createdAt: '2026-01-01T00:00:00Z', store: 'keychain'})}, "good": ${JSON.stringify({userId: USER, homeserver: 'https://b.example', deviceId: 'B', createdAt: '2026-01-01T00:00:00Z', store: 'keychain'})}}}`,
      'has the key "good" twice',
    ],
  ])('%s is exit 7 with one line, for every command', async (_, text, message) => {
    writeText(text)
    for (const args of [['list', '--offline'], ['verify'], ['token', 'good']]) {
      const r = await run(args)
      expect(r.code).toBe(7)
      expectOneLineError(r)
      expect(r.stderr).toContain(message)
    }
    expect(hs.seen).toEqual([])
  })
})

describe('a configuration other users can change', () => {
  it('refuses to send a token, naming the path and the chmod or chown that fixes it', async () => {
    writeSessions({good: good()})
    chmodSync(configDir, 0o777)
    let r = await run(['verify'])
    expect(r.code).toBe(7)
    expectOneLineError(r)
    expect(r.stderr).toBe(`mxtok: refusing to use ${configDir}: other users can write it and so redirect your tokens; fix it with: chmod go-w ${configDir}\n`)
    chmodSync(configDir, 0o700)
    chmodSync(registryPath(), 0o666)
    r = await run(['token', 'good'])
    expect(r.code).toBe(7)
    expect(r.stdout).toBe('')
    expect(r.stderr).toContain(`chmod go-w ${registryPath()}`)
    expect(hs.seen).toEqual([])
    chmodSync(registryPath(), 0o600)
    expect((await run(['verify'])).code).toBe(0)
  })
})

describe('absurd but possible values', () => {
  it('a timeout beyond what a timer can hold works as a very long one, without a warning', async () => {
    writeSessions({good: good()})
    const r = await run(['verify'], {MXTOK_TIMEOUT: '1e12', MXTOK_KEYCHAIN_TIMEOUT: '1e12'})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })

  it('list --offline of 250,000 sessions lists them all', async () => {
    const sessions: Record<string, unknown> = {}
    for (let i = 0; i < 250_000; i++) sessions[`s${i}`] = {...good(), deviceId: `MXTOKS${i}`}
    writeSessions(sessions)
    const r = await run(['list', '--offline'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout.trim().split('\n')).toHaveLength(250_001)
  }, 120_000)

  it('a token with control characters is refused at import, and a stored one is a damaged token, not the network', async () => {
    writeSessions({})
    const r = await run(['import', 'bad', '--token-stdin', '--homeserver', hs.url, '--store', 'keychain'], {}, 'syt_a\u001b[2Jb\n')
    expect(r.code).toBe(2)
    expectOneLineError(r)
    expect(r.stderr).toContain('that is not an access token')
    expect(hs.seen.filter((s) => s.path.endsWith('/whoami'))).toEqual([])
    const device = deriveDeviceId(USER, 'stored')
    writeSessions({stored: {...good(), deviceId: device}})
    await keepTokens(keyringEnv, new Map([[`${USER}/${device}`, 'syt_\u00ff\u0007bad']]))
    const t = await run(['token', 'stored'])
    expect(t.code).toBe(4)
    expect(t.stderr).toBe('mxtok: the stored token of session "stored" is empty or damaged; create the session again\n')
  })
})
