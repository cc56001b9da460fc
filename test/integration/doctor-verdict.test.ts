// doctor's verdict is about what is configured; a store nobody uses is information, not a failure.
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type BadHomeserver, json, startBadHomeserver} from '../support/bad-homeserver.js'
import {runCli, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'

const keyringEnv = await service('keyringEnv')
let hs: BadHomeserver

beforeAll(async () => {
  hs = await startBadHomeserver()
  hs.routes.set('GET /_matrix/client/versions', (_, res) => json(res, 200, {versions: ['v1.11']}))
})
afterAll(async () => {
  await hs?.close()
})

function configWith(sessions: Record<string, {store: string; homeserver?: string}>): string {
  const dir = tempDir('mxtok-doctor-verdict-')
  const entries = Object.fromEntries(
    Object.entries(sessions).map(([name, s], i) => [
      name,
      {userId: '@bot:doctor.example', homeserver: s.homeserver ?? hs.url, deviceId: `MXTOKDOCTOR${i}`, createdAt: '2026-01-01T00:00:00.000Z', store: s.store},
    ]),
  )
  writeFileSync(join(dir, 'sessions.json'), JSON.stringify({version: 1, sessions: entries}), {mode: 0o600})
  return dir
}
// No MXTOK_PASSPHRASE: the file store cannot be used here.
const doctor = (dir: string, args: string[] = []) => runCli(['doctor', ...args], {env: {...keyringEnv, HOME: dir, MXTOK_CONFIG_DIR: dir}})

describe('doctor', () => {
  it('a store nobody configured or uses is information: no FAIL, exit 0', async () => {
    const r = await doctor(configWith({bot: {store: 'keychain'}}))
    expect(r.code, r.stdout).toBe(0)
    expect(r.stdout).toMatch(/^ok {3}store keychain: OS keychain \(configured\)$/m)
    expect(r.stdout).toMatch(/^info store file: encrypted file store \(not configured\) — not usable here: .*MXTOK_PASSPHRASE/m)
    expect(r.stdout).toMatch(/^info store vault: team home in OpenBao\/Vault \(not configured\) — not usable here: .*--vault MOUNT\/PREFIX or MXTOK_VAULT/m)
    expect(r.stdout).not.toContain('FAIL')
  })

  it('a store that holds sessions is part of the verdict: FAIL and exit 6 when it does not work', async () => {
    const dir = configWith({bot: {store: 'keychain'}, filed: {store: 'file'}})
    const r = await doctor(dir)
    expect(r.code).toBe(6)
    expect(r.stdout).toMatch(/^FAIL store file: encrypted file store \(holds 1 session\) — .*MXTOK_PASSPHRASE/m)
    const j = await doctor(dir, ['--json'])
    expect(j.code).toBe(6)
    expect(JSON.parse(j.stdout)).toMatchObject({
      ok: false,
      stores: [
        {store: 'keychain', ok: true, configured: true, sessions: 1},
        {store: 'file', ok: false, configured: false, sessions: 1},
        {store: 'vault', ok: false, configured: false, sessions: 0},
      ],
    })
  })

  it('a homeserver of the sessions that does not answer: FAIL and exit 5', async () => {
    const r = await doctor(configWith({bot: {store: 'keychain'}, gone: {store: 'keychain', homeserver: 'http://127.0.0.1:9'}}))
    expect(r.code).toBe(5)
    expect(r.stdout).toMatch(/^FAIL homeserver http:\/\/127\.0\.0\.1:9 \(1 session\)/m)
    expect(r.stdout).toMatch(/^ok {3}homeserver http:\/\/127\.0\.0\.1:\d+ \(1 session\)$/m)
  })
})
