import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {type CliResult, runCli, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {rawLogin, rawLogout, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'sweep-password-do-not-leak'
const PASSPHRASE = 'sweep-passphrase-do-not-leak'

/** Every secret this file has seen; none may appear anywhere but on `mxtok token`'s stdout. */
const secrets = new Set([PASSWORD, PASSPHRASE])
let userId: string
let configDir: string
const runs: {args: string[]; result: CliResult}[] = []

async function mxtok(args: string[], opts: {env?: Record<string, string | undefined>; input?: string} = {}): Promise<CliResult> {
  const result = await runCli([...args], {
    env: {...keyringEnv, HOME: configDir, MXTOK_CONFIG_DIR: configDir, MXTOK_DEBUG: '1', MXTOK_PASSPHRASE: PASSPHRASE, ...opts.env},
    input: opts.input,
  })
  runs.push({args, result})
  return result
}

function* filesUnder(dir: string): Generator<string> {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) yield* filesUnder(path)
    else yield path
  }
}

beforeAll(async () => {
  userId = await registerUser(synapse, `sweep${process.pid}`, PASSWORD)
  configDir = tempDir('mxtok-sweep-')
})

describe('with debug output on, no command leaks a token or a password', () => {
  it('runs every command on its success and failure paths', async () => {
    const hs = ['--homeserver', synapse.baseUrl]
    const ok = (r: CliResult) => expect(r.code, r.stderr).toBe(0)
    const failed = (r: CliResult) => expect(r.code, r.stderr).not.toBe(0)

    // Success paths.
    ok(await mxtok(['create', 'a', '--user', userId, ...hs, '--password-stdin', '--verbose'], {input: `${PASSWORD}\n`}))
    ok(await mxtok(['create', 'b', '--user', userId, ...hs, '--store', 'file'], {env: {MXTOK_PASSWORD: PASSWORD}}))
    for (const name of ['a', 'b']) {
      const t = await mxtok(['token', name])
      ok(t)
      secrets.add(t.stdout.trim())
    }
    const raw = await rawLogin(synapse.baseUrl, userId, PASSWORD, 'SWEEPRAW')
    secrets.add(raw.access_token)
    ok(await mxtok(['import', 'c', '--token-stdin', ...hs, '--json'], {input: `${raw.access_token}\n`}))
    ok(await mxtok(['list']))
    ok(await mxtok(['list', '--json', '--verbose']))
    ok(await mxtok(['list', '--offline']))
    ok(await mxtok(['verify', '--json']))
    ok(await mxtok(['exec', 'a', '--', 'sh', '-c', 'test -n "$MATRIX_ACCESS_TOKEN"']))
    ok(await mxtok(['rename', 'a', '--device-name', 'renamed by the sweep']))
    ok(await mxtok(['move', 'b', '--to', 'keychain']))
    ok(await mxtok(['doctor', '--json']))
    ok(await mxtok(['prune', '--user', userId, ...hs, '--orphans', '--dry-run', '--password-stdin'], {input: `${PASSWORD}\n`}))

    // Failure paths.
    failed(await mxtok(['create', 'x', '--user', userId, ...hs, '--password-stdin'], {input: `${PASSWORD}-wrong\n`}))
    failed(await mxtok(['create', 'x', '--user', userId, ...hs], {env: {MXTOK_PASSWORD: PASSWORD, DBUS_SESSION_BUS_ADDRESS: undefined}}))
    failed(await mxtok(['create', 'x', '--user', userId, '--homeserver', 'http://127.0.0.1:9', '--json'], {env: {MXTOK_PASSWORD: PASSWORD}}))
    failed(await mxtok(['import', 'y', '--token-stdin', ...hs], {input: 'syt_not_a_real_token\n'}))
    // An orphan to delete, so that prune gets as far as asking the server with the password.
    ok(await mxtok(['create', 'stray', '--user', userId, ...hs], {env: {MXTOK_PASSWORD: PASSWORD, MXTOK_CONFIG_DIR: tempDir('mxtok-sweep-other-')}}))
    failed(await mxtok(['prune', '--user', userId, ...hs, '--orphans', '--yes', '--password-stdin'], {input: 'wrong password\n'}))
    ok(await mxtok(['prune', '--user', userId, ...hs, '--orphans', '--yes', '--password-stdin', '--json'], {input: `${PASSWORD}\n`}))
    failed(await mxtok(['exec', 'a', '--', 'no-such-command-anywhere']))
    ok(await mxtok(['move', 'a', '--to', 'file']))
    failed(await mxtok(['token', 'a'], {env: {MXTOK_PASSPHRASE: 'not the passphrase'}}))
    await rawLogout(synapse.baseUrl, raw.access_token)
    failed(await mxtok(['verify', 'c', '--verbose']))
    failed(await mxtok(['token', 'nosuchsession']))

    // And clean up, which is a success path of its own.
    for (const name of ['a', 'b', 'c']) ok(await mxtok(['revoke', name, '--verbose']))
  })

  it("printed no secret, except a token on `mxtok token`'s stdout", () => {
    expect(runs.length).toBeGreaterThan(20)
    expect(runs.some(({result}) => result.stderr.includes('mxtok: debug: '))).toBe(true)
    for (const {args, result} of runs) {
      for (const secret of secrets) {
        if (args[0] !== 'token') expect(result.stdout, `stdout of mxtok ${args.join(' ')}`).not.toContain(secret)
        expect(result.stderr, `stderr of mxtok ${args.join(' ')}`).not.toContain(secret)
      }
    }
  })

  it('wrote no secret in clear into the config directory', () => {
    const files = [...filesUnder(configDir)]
    expect(files.map((f) => f.slice(configDir.length + 1)).sort()).toEqual(expect.arrayContaining(['secrets.enc', 'sessions.json']))
    for (const file of files) {
      const text = readFileSync(file, 'latin1')
      for (const secret of secrets) expect(text, file).not.toContain(secret)
    }
  })
})
