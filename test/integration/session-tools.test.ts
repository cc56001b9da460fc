// exec, import, rename and prune against each homeserver and the Secret Service, through the built CLI.
import {spawn} from 'node:child_process'
import {createHash} from 'node:crypto'
import {beforeAll, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {BIN, type CliResult, expectNoSecrets, expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'
import {rawLogin, rawLogout, rawWhoami, registerUser} from '../support/synapse.js'

// One suite, run against each homeserver implementation the test set-up starts.
const homeservers = await service('homeservers')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'tools-password-do-not-leak'

describe.each(homeservers)('on $kind', (server) => {
  /** Every secret the tests have seen: none may show up in output other than `mxtok token`'s stdout. */
  const secrets = new Set<string>([PASSWORD])

  let userId: string
  let configDir: string

  const {env, mxtok, token} = mxtokRunner(keyringEnv, () => configDir, secrets)

  async function create(name: string, user = userId, extra: Record<string, string | undefined> = {}) {
    const r = await mxtok(['create', name, '--user', user, '--homeserver', server.baseUrl, '--password-stdin', '--json'], extra, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
    return JSON.parse(r.stdout) as {deviceId: string}
  }

  async function login(user: string, deviceId?: string) {
    const l = await rawLogin(server.baseUrl, user, PASSWORD, deviceId)
    secrets.add(l.access_token)
    return l
  }

  /** The account's devices as the server lists them, seen through a device of the test's own. */
  async function serverDevices(user = userId): Promise<{device_id: string; display_name: string | null}[]> {
    const observer = await login(user, 'TESTOBSERVER')
    const res = await fetch(`${server.baseUrl}/_matrix/client/v3/devices`, {headers: {authorization: `Bearer ${observer.access_token}`}})
    const body = (await res.json()) as {devices: {device_id: string; display_name: string | null}[]}
    return body.devices.filter((d) => d.device_id !== 'TESTOBSERVER')
  }
  const deviceIds = async (user = userId) => (await serverDevices(user)).map((d) => d.device_id).sort()

  // A terminal for mxtok's standard input: python3 is already needed for the tests' Synapse.
  const PTY = 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))'

  /** Runs mxtok on a pseudo-terminal, typing `typed`; stdout and stderr both arrive in `stdout`. */
  async function inTerminal(args: string[], typed: string, extra: Record<string, string | undefined> = {}): Promise<CliResult> {
    const child = spawn('python3', ['-c', PTY, process.execPath, BIN, ...args], {env: {PATH: process.env.PATH, ...env(extra)}, stdio: ['pipe', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.stdin.end(typed)
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    const r = {code, stdout, stderr}
    expectNoSecrets(r, secrets)
    return r
  }

  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

  beforeAll(async () => {
    userId = await registerUser(server, `tools${server.kind}${process.pid}`, PASSWORD)
    configDir = tempDir('mxtok-tools-')
    await create('bot')
  })

  describe('exec', () => {
    it('gives the command the four variables and passes its exit status back', async () => {
      const t = await token('bot')
      // The token is hashed inside the child (printf is a shell builtin), so it is on no command line here either.
      const script = 'printf "%s|%s|%s|" "$MATRIX_HOMESERVER_URL" "$MATRIX_USER_ID" "$MATRIX_DEVICE_ID"; printf %s "$MATRIX_ACCESS_TOKEN" | sha256sum; exit 7'
      const r = await mxtok(['exec', 'bot', '--', 'sh', '-c', script])
      expect(r.code, r.stderr).toBe(7)
      expect(r.stdout).toBe(`${server.baseUrl}|${userId}|${deriveDeviceId(userId, 'bot')}|${sha256(t)}  -\n`)
      expect(r.stderr).toBe('')
    })

    it("gives the command its session and none of mxtok's own variables: not the passphrase that opens every other session, not the password", async () => {
      const passphrase = 'exec-passphrase-do-not-leak'
      secrets.add(passphrase)
      await create('filed', userId, {MXTOK_STORE: 'file', MXTOK_PASSPHRASE: passphrase})
      const t = await token('filed', {MXTOK_PASSPHRASE: passphrase})
      // mxtok itself needs the passphrase to read this session's token; the command must not get it.
      const ours = {
        MXTOK_PASSPHRASE: passphrase,
        MXTOK_PASSWORD: PASSWORD,
        MXTOK_ALLOW_HTTP: '1',
        MXTOK_STORE: 'file',
        MXTOK_TIMEOUT: '9',
        MXTOK_KEYCHAIN_TIMEOUT: '9',
        MXTOK_DEBUG: '1',
        KEEP_ME: 'kept',
      }
      // The command prints its environment as JSON (the token as its hash), so no value of it is on any command line.
      const script =
        'const e = {...process.env}; e.MATRIX_ACCESS_TOKEN = require("crypto").createHash("sha256").update(e.MATRIX_ACCESS_TOKEN).digest("hex"); process.stdout.write(JSON.stringify(e))'
      const r = await mxtok(['exec', 'filed', '--', process.execPath, '-e', script], ours)
      expect(r.code, r.stderr).toBe(0)
      const childEnv = JSON.parse(r.stdout) as Record<string, string>
      expect(Object.keys(childEnv).filter((k) => /^MXTOK_/i.test(k))).toEqual([])
      expect(Object.values(childEnv)).not.toContain(passphrase)
      expect(Object.values(childEnv)).not.toContain(PASSWORD)
      expect(childEnv).toMatchObject({
        KEEP_ME: 'kept',
        MATRIX_HOMESERVER_URL: server.baseUrl,
        MATRIX_USER_ID: userId,
        MATRIX_DEVICE_ID: deriveDeviceId(userId, 'filed'),
      })
      expect(childEnv.MATRIX_ACCESS_TOKEN).toBe(sha256(t))
    })

    it("puts the token on no command line: neither mxtok's nor the command's", async () => {
      await token('bot')
      // /proc/PID/cmdline is what every user of the machine can read.
      const script = 'tr "\\0" " " </proc/$PPID/cmdline; echo; tr "\\0" " " </proc/$$/cmdline; echo'
      const r = await mxtok(['exec', 'bot', '--', 'sh', '-c', script])
      expect(r.code, r.stderr).toBe(0)
      const [parent, self] = r.stdout.split('\n')
      expect(parent).toContain(`exec bot -- sh -c`)
      expect(self).toContain('sh -c')
    })

    it('leaves the command\'s own flags and a second "--" to the command', async () => {
      const r = await mxtok(['exec', 'bot', '--', 'sh', '-c', 'printf "%s," "$@"', 'sh', '-la', '--', '--json', '--help'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toBe('-la,--,--json,--help,')
    })

    it('turns a death by signal into 128 + the signal number', async () => {
      const r = await mxtok(['exec', 'bot', '--', 'sh', '-c', 'kill -KILL $$'])
      expect(r.code).toBe(137)
    })

    it('exits 127 with one line when the command does not exist, and 2 without "--"', async () => {
      const missing = await mxtok(['exec', 'bot', '--', 'mxtok-no-such-command', '-x'])
      expect(missing.code).toBe(127)
      expectOneLineError(missing)
      expect(missing.stderr).toContain('command not found: mxtok-no-such-command')

      const noDashes = await mxtok(['exec', 'bot', 'env'])
      expect(noDashes.code).toBe(2)
      expectOneLineError(noDashes)
      expect(noDashes.stderr).toContain('write the command after "--"')
      expect((await mxtok(['exec', 'nope', '--', 'true'])).code).toBe(2)
    })

    it.each(['SIGTERM', 'SIGINT'] as const)("passes %s on to the command and exits with the command's status", async (signal) => {
      const trap = signal.slice(3)
      // Bounded, so that a broken forward cannot leave a loop running after the test.
      const script = `trap "exit 42" ${trap}; echo ready; i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; exit 3`
      // A keychain session, and the signal as soon as the command is up, a few times over: a signal
      // that came while the command was being started used to end mxtok instead (2-3 runs in 12).
      for (let round = 0; round < 4; round++) {
        const child = spawn(process.execPath, [BIN, 'exec', 'bot', '--', 'sh', '-c', script], {
          env: {PATH: process.env.PATH, ...env()},
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let stdout = ''
        let stderr = ''
        child.stderr.on('data', (d) => (stderr += d))
        await new Promise<void>((resolve) =>
          child.stdout.on('data', (d) => {
            stdout += d
            if (stdout.includes('ready')) resolve()
          }),
        )
        child.kill(signal)
        const [code, died] = await new Promise<[number | null, string | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])))
        expect({round, code, died, stderr}).toEqual({round, code: 42, died: null, stderr: ''})
      }
    })
  })

  describe('import', () => {
    it('adopts a token from a raw login: listed with its device, valid, usable, and revoked for real', async () => {
      const raw = await login(userId, 'RAWLOGIN01')
      const r = await mxtok(['import', 'adopted', '--token-stdin', '--user', userId, '--homeserver', server.baseUrl, '--json'], {}, `${raw.access_token}\n`)
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toEqual({name: 'adopted', userId, deviceId: 'RAWLOGIN01', homeserver: server.baseUrl, createdAt: expect.any(String)})

      const list = await mxtok(['list', '--json'])
      expect(JSON.parse(list.stdout).sessions).toContainEqual(expect.objectContaining({name: 'adopted', deviceId: 'RAWLOGIN01', onServer: true}))
      const v = await mxtok(['verify', 'adopted', '--json'])
      expect(v.code, v.stderr).toBe(0)
      expect(JSON.parse(v.stdout)).toEqual([{name: 'adopted', status: 'valid', userId, deviceId: 'RAWLOGIN01'}])
      expect(await token('adopted')).toBe(raw.access_token)
      const e = await mxtok(['exec', 'adopted', '--', 'sh', '-c', 'printf %s "$MATRIX_DEVICE_ID"'])
      expect(e.stdout).toBe('RAWLOGIN01')

      const revoke = await mxtok(['revoke', 'adopted'])
      expect(revoke.code, revoke.stderr).toBe(0)
      expect((await rawWhoami(server.baseUrl, raw.access_token)).status).toBe(401)
      expect(await deviceIds()).not.toContain('RAWLOGIN01')
    })

    it('refuses a token of another user than --user (exit 4), and keeps nothing', async () => {
      const other = await registerUser(server, `toolsother${server.kind}${process.pid}`, PASSWORD)
      const raw = await login(other, 'OTHERDEV01')
      const r = await mxtok(['import', 'wrong', '--token-stdin', '--user', userId, '--homeserver', server.baseUrl], {}, `${raw.access_token}\n`)
      expect(r.code).toBe(4)
      expectOneLineError(r)
      expect(r.stderr).toContain(`the token belongs to ${other}`)
      expect((await mxtok(['list', '--offline', '--json'])).stdout).not.toContain('"wrong"')
      expect((await rawWhoami(server.baseUrl, raw.access_token)).status).toBe(200)
    })

    // Dendrite has no admin API to make such a token with.
    if (server.kind === 'synapse') {
      it('refuses an admin login-as token, which has no device (exit 4)', async () => {
        const admin = await registerUser(server, `toolsadmin${server.kind}${process.pid}`, PASSWORD, true)
        const adminToken = (await login(admin)).access_token
        const res = await fetch(`${server.baseUrl}/_synapse/admin/v1/users/${encodeURIComponent(userId)}/login`, {
          method: 'POST',
          headers: {authorization: `Bearer ${adminToken}`},
          body: '{}',
        })
        const loginAs = ((await res.json()) as {access_token: string}).access_token
        secrets.add(loginAs)
        expect((await rawWhoami(server.baseUrl, loginAs)).body).not.toHaveProperty('device_id')
        const r = await mxtok(['import', 'puppet', '--token-stdin', '--homeserver', server.baseUrl], {}, `${loginAs}\n`)
        expect(r.code).toBe(4)
        expectOneLineError(r)
        expect(r.stderr).toContain('has no device')
      })
    }

    it('says a dead token is not valid (exit 4), and an empty one is bad input (exit 2)', async () => {
      const r = await mxtok(['import', 'dead', '--token-stdin', '--homeserver', server.baseUrl], {}, 'syt_not_a_real_token\n')
      expect(r.code).toBe(4)
      expectOneLineError(r)
      const empty = await mxtok(['import', 'empty', '--token-stdin', '--homeserver', server.baseUrl], {}, '\n')
      expect(empty.code).toBe(2)
      const noSource = await mxtok(['import', 'none', '--homeserver', server.baseUrl])
      expect(noSource.code).toBe(2)
      expect(noSource.stderr).toContain('--token-stdin')
    })

    it('replaces a session of the same name and logs its old device out; refuses a device another session owns', async () => {
      await create('swap')
      const old = await token('swap')
      const raw = await login(userId, 'RAWLOGIN02')
      const r = await mxtok(['import', 'swap', '--token-stdin', '--homeserver', server.baseUrl], {}, `${raw.access_token}\n`)
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain('device      RAWLOGIN02')
      expect((await rawWhoami(server.baseUrl, old)).status).toBe(401)
      expect(await deviceIds()).not.toContain(deriveDeviceId(userId, 'swap'))

      const again = await mxtok(['import', 'swap2', '--token-stdin', '--homeserver', server.baseUrl], {}, `${raw.access_token}\n`)
      expect(again.code).toBe(2)
      expectOneLineError(again)
      expect(again.stderr).toContain('already belongs to session "swap"')
    })
  })

  describe('rename', () => {
    it("sets the device's display name on the server", async () => {
      const r = await mxtok(['rename', 'bot', '--device-name', 'reminder bot (prod)', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toEqual({name: 'bot', userId, deviceId: deriveDeviceId(userId, 'bot'), displayName: 'reminder bot (prod)'})
      expect(await serverDevices()).toContainEqual(expect.objectContaining({device_id: deriveDeviceId(userId, 'bot'), display_name: 'reminder bot (prod)'}))
    })

    it('refuses a name over 100 characters before asking the server', async () => {
      const r = await mxtok(['rename', 'bot', '--device-name', 'x'.repeat(101)])
      expect(r.code).toBe(2)
      expectOneLineError(r)
      expect(await serverDevices()).toContainEqual(expect.objectContaining({device_id: deriveDeviceId(userId, 'bot'), display_name: 'reminder bot (prod)'}))
    })
  })

  describe('prune', () => {
    let pruneUser: string
    let elsewhere: string
    let stray: string
    /** The device that registration itself creates. */
    let registered: string[]

    beforeAll(async () => {
      pruneUser = await registerUser(server, `toolsprune${server.kind}${process.pid}`, PASSWORD)
      registered = await deviceIds(pruneUser)
      elsewhere = tempDir('mxtok-elsewhere-')
      await create('keeper', pruneUser)
      // Prune uses keeper's token, which protects keeper's device anyway; keeper2 is protected only as a local session.
      await create('keeper2', pruneUser)
      // Created from another config directory: from this one, its device is an orphan.
      stray = (await create('stray', pruneUser, {MXTOK_CONFIG_DIR: elsewhere})).deviceId
      await login(pruneUser, 'PLAINDEVICE')
    })

    const prune = (args: string[], input?: string, extra: Record<string, string | undefined> = {}) =>
      mxtok(['prune', '--user', pruneUser, '--homeserver', server.baseUrl, ...args], extra, input)

    it("--dry-run lists the orphans, not the local sessions' devices nor others, and deletes nothing", async () => {
      const before = await deviceIds(pruneUser)
      const r = await prune(['--orphans', '--dry-run', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const result = JSON.parse(r.stdout)
      expect(result).toMatchObject({userId: pruneUser, dryRun: true, deleted: []})
      expect(result.devices.map((d: {deviceId: string}) => d.deviceId)).toEqual([stray])
      const human = await prune(['--orphans', '--dry-run'])
      expect(human.stdout).toContain(stray)
      expect(human.stdout).toContain('Dry run: 1 device would be deleted; nothing was.')
      expect(await deviceIds(pruneUser)).toEqual(before)
    })

    it('without --yes and without a terminal, shows the devices, exits 2 and deletes nothing', async () => {
      const before = await deviceIds(pruneUser)
      const r = await prune(['--orphans', '--password-stdin'], `${PASSWORD}\n`)
      expect(r.code).toBe(2)
      expectOneLineError(r)
      expect(r.stderr).toContain('pass --yes')
      expect(r.stdout).toContain(stray)
      expect(await deviceIds(pruneUser)).toEqual(before)
    })

    it('a wrong password exits 3 and deletes nothing', async () => {
      const before = await deviceIds(pruneUser)
      const r = await prune(['--orphans', '--yes', '--password-stdin'], 'not the password\n')
      expect(r.code).toBe(3)
      expectOneLineError(r)
      expect(r.stderr).not.toContain('not the password')
      expect(await deviceIds(pruneUser)).toEqual(before)
    })

    it('deletes the orphan with --yes, and leaves the local session and other devices alone', async () => {
      const strayToken = await token('stray', {MXTOK_CONFIG_DIR: elsewhere})
      const r = await prune(['--orphans', '--yes', '--json'], undefined, {MXTOK_PASSWORD: PASSWORD})
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({dryRun: false, deleted: [stray]})
      expect((await rawWhoami(server.baseUrl, strayToken)).status).toBe(401)
      expect(await deviceIds(pruneUser)).toEqual(
        [...registered, deriveDeviceId(pruneUser, 'keeper'), deriveDeviceId(pruneUser, 'keeper2'), 'PLAINDEVICE'].sort(),
      )
      const v = await mxtok(['verify', 'keeper', 'keeper2'])
      expect(v.code, v.stdout).toBe(0)
    })

    it('on a terminal, asks before deleting: anything but yes deletes nothing', async () => {
      const orphan = (await create('stray-tty', pruneUser, {MXTOK_CONFIG_DIR: elsewhere})).deviceId
      const before = await deviceIds(pruneUser)
      const no = await inTerminal(['prune', '--user', pruneUser, '--homeserver', server.baseUrl, '--orphans'], 'n\n', {MXTOK_PASSWORD: PASSWORD})
      expect(no.code, no.stdout).toBe(2)
      expect(no.stdout).toContain(`Delete 1 device of ${pruneUser}? This logs them out for good. [y/N]`)
      expect(no.stdout).toContain('cancelled: nothing was deleted')
      expect(await deviceIds(pruneUser)).toEqual(before)

      const yes = await inTerminal(['prune', '--user', pruneUser, '--homeserver', server.baseUrl, '--orphans'], 'y\n', {MXTOK_PASSWORD: PASSWORD})
      expect(yes.code, yes.stdout).toBe(0)
      expect(yes.stdout).toContain(`Deleted 1 device of ${pruneUser}.`)
      expect(await deviceIds(pruneUser)).toEqual(before.filter((d) => d !== orphan))
    })

    it("without --homeserver and with a dead local session, logs in at the session's recorded homeserver, not at a discovered one", async () => {
      // The user's server name is "localhost": discovery would find the test Synapse's well-known, not this server.
      const deadUser = await registerUser(server, `toolsdead${server.kind}${process.pid}`, PASSWORD)
      const dir = tempDir('mxtok-dead-')
      const dead = await create('dead', deadUser, {MXTOK_CONFIG_DIR: dir})
      const t = await token('dead', {MXTOK_CONFIG_DIR: dir})
      await rawLogout(server.baseUrl, t)
      expect((await rawWhoami(server.baseUrl, t)).status).toBe(401)
      const before = await deviceIds(deadUser)

      const r = await mxtok(['prune', '--user', deadUser, '--orphans', '--dry-run', '--password-stdin', '--json'], {MXTOK_CONFIG_DIR: dir}, `${PASSWORD}\n`)
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({userId: deadUser, homeserver: server.baseUrl, dryRun: true, deleted: []})
      expect(before).not.toContain(dead.deviceId)
      // The temporary device was logged out again.
      expect(await deviceIds(deadUser)).toEqual(before)
    })

    it('without a local session, logs in with a temporary device, leaves it out, and logs it out again', async () => {
      const empty = tempDir('mxtok-empty-')
      await create('stray2', pruneUser, {MXTOK_CONFIG_DIR: elsewhere})
      const before = await deviceIds(pruneUser)
      // From an empty config directory every MXTOK device is an orphan, keeper's too.
      const orphans = [deriveDeviceId(pruneUser, 'keeper'), deriveDeviceId(pruneUser, 'keeper2'), deriveDeviceId(pruneUser, 'stray2')].sort()
      const dry = await prune(['--orphans', '--dry-run', '--json', '--password-stdin'], `${PASSWORD}\n`, {MXTOK_CONFIG_DIR: empty})
      expect(dry.code, dry.stderr).toBe(0)
      expect(
        JSON.parse(dry.stdout)
          .devices.map((d: {deviceId: string}) => d.deviceId)
          .sort(),
      ).toEqual(orphans)
      expect(await deviceIds(pruneUser)).toEqual(before)

      const r = await prune(['--orphans', '--yes', '--password-stdin', '--json'], `${PASSWORD}\n`, {MXTOK_CONFIG_DIR: empty})
      expect(r.code, r.stderr).toBe(0)
      expect(JSON.parse(r.stdout).deleted.sort()).toEqual(orphans)
      expect(await deviceIds(pruneUser)).toEqual([...registered, 'PLAINDEVICE'].sort())
    })
  })
})
