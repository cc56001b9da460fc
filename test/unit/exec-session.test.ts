import {EventEmitter} from 'node:events'
import {chmodSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {execSession} from '../../src/core/exec-session.js'
import {MxtokError} from '../../src/errors.js'
import type {AdminLoginKey} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {tempDir} from '../support/cli.js'
import {unitDeps} from '../support/unit-deps.js'

const USER = '@bot:hs.example'
const DEVICE = 'MXTOKAAAAAAAAAA'
const TOKEN = 'syt_secret_token'

async function withSession() {
  const deps = unitDeps()
  await deps.registry.update((sessions) => {
    sessions.set('bot', {
      name: 'bot',
      userId: USER,
      homeserver: 'https://hs.example',
      deviceId: DEVICE,
      createdAt: '2026-01-02T03:04:05.000Z',
      store: 'keychain',
      auth: 'password',
    })
  })
  deps.memory.items.set(secretAccount(USER, DEVICE), TOKEN)
  return deps
}

const node = (script: string) => [process.execPath, '-e', script]

describe('execSession', () => {
  it('adds the four variables to the environment it is given and passes the exit status back', async () => {
    const deps = await withSession()
    const out = join(tempDir('mxtok-exec-'), 'env.json')
    const script = `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({env: process.env, argv: process.argv})); process.exit(7)`
    const code = await execSession({name: 'bot', command: node(script), env: {PATH: process.env.PATH, KEEP: 'me'}}, deps)
    expect(code).toBe(7)
    const seen = JSON.parse(readFileSync(out, 'utf8'))
    expect(seen.env).toMatchObject({
      KEEP: 'me',
      MATRIX_HOMESERVER_URL: 'https://hs.example',
      MATRIX_USER_ID: USER,
      MATRIX_DEVICE_ID: DEVICE,
      MATRIX_ACCESS_TOKEN: TOKEN,
    })
    expect(JSON.stringify(seen.argv)).not.toContain(TOKEN)
  })

  it('gives a session of an admin login, whose token is on no device, no device ID, not even one inherited', async () => {
    const deps = unitDeps()
    await deps.registry.update((sessions) => {
      sessions.set('as-bot', {
        name: 'as-bot',
        userId: USER,
        homeserver: 'https://hs.example',
        deviceId: DEVICE as AdminLoginKey,
        createdAt: '2026-01-02T03:04:05.000Z',
        store: 'keychain',
        auth: 'admin',
        admin: {by: '@admin:hs.example'},
      })
    })
    deps.memory.items.set(secretAccount(USER, DEVICE), TOKEN)
    const out = join(tempDir('mxtok-exec-'), 'env.json')
    const script = `require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.env))`
    expect(await execSession({name: 'as-bot', command: node(script), env: {PATH: process.env.PATH, MATRIX_DEVICE_ID: 'FROMPARENT'}}, deps)).toBe(0)
    const seen = JSON.parse(readFileSync(out, 'utf8'))
    expect(seen).toMatchObject({MATRIX_USER_ID: USER, MATRIX_ACCESS_TOKEN: TOKEN})
    expect(seen).not.toHaveProperty('MATRIX_DEVICE_ID')
  })

  it('turns a death by signal into 128 + the signal number', async () => {
    const deps = await withSession()
    expect(await execSession({name: 'bot', command: node(`process.kill(process.pid, 'SIGKILL')`), env: process.env}, deps)).toBe(137)
  })

  it('passes on a signal that arrives while the command is being started', async () => {
    // The child can run, and be signalled through its parent, before spawn() has returned: a
    // signal mxtok receives in that window must reach the child, not end mxtok.
    const deps = await withSession()
    const killed: string[] = []
    const spawn = ((...args: Parameters<typeof import('node:child_process').spawn>) => {
      const received = process.emit('SIGTERM', 'SIGTERM')
      expect(received, 'nothing listened for SIGTERM while the command started: mxtok would have died of it').toBe(true)
      const child = new EventEmitter() as EventEmitter & {kill: (s: string) => boolean}
      child.kill = (s) => {
        killed.push(s)
        setImmediate(() => child.emit('exit', null, s))
        return true
      }
      void args
      return child
    }) as unknown as typeof import('node:child_process').spawn
    expect(await execSession({name: 'bot', command: ['true'], env: process.env, spawn}, deps)).toBe(128 + 15)
    expect(killed).toEqual(['SIGTERM'])
  })

  it('passes the arguments through untouched, without a shell', async () => {
    const deps = await withSession()
    const out = join(tempDir('mxtok-exec-'), 'argv.json')
    const args = ['-la', '--', '$HOME', 'a b', '*']
    await execSession(
      {
        name: 'bot',
        command: [...node(`require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.argv.slice(1)))`), '--', ...args],
        env: process.env,
      },
      deps,
    )
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(args)
  })

  it('exits 127 for a command that does not exist and 126 for a file that cannot be run', async () => {
    const deps = await withSession()
    const missing = await execSession({name: 'bot', command: ['mxtok-no-such-command'], env: process.env}, deps).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(MxtokError)
    expect(missing).toMatchObject({kind: 'commandNotFound', exitCode: 127, message: 'command not found: mxtok-no-such-command; check its name and PATH'})

    const file = join(tempDir('mxtok-exec-'), 'not-executable')
    writeFileSync(file, '#!/bin/sh\nexit 0\n')
    chmodSync(file, 0o644)
    await expect(execSession({name: 'bot', command: [file], env: process.env}, deps)).rejects.toMatchObject({kind: 'commandNotExecutable', exitCode: 126})
  })

  it('leaves no signal handler behind', async () => {
    const deps = await withSession()
    const before = process.listenerCount('SIGTERM')
    await execSession({name: 'bot', command: node(''), env: process.env}, deps)
    await execSession({name: 'bot', command: ['mxtok-no-such-command'], env: process.env}, deps).catch(() => {})
    expect(process.listenerCount('SIGTERM')).toBe(before)
  })

  it('fails before running anything for an unknown session, a missing token or no command', async () => {
    const deps = await withSession()
    const marker = join(tempDir('mxtok-exec-'), 'ran')
    const command = node(`require('fs').writeFileSync(${JSON.stringify(marker)}, '')`)
    await expect(execSession({name: 'nope', command, env: process.env}, deps)).rejects.toMatchObject({kind: 'usage'})
    await expect(execSession({name: 'bot', command: [], env: process.env}, deps)).rejects.toMatchObject({
      kind: 'usage',
      message: expect.stringContaining('after "--"'),
    })
    deps.memory.items.clear()
    await expect(execSession({name: 'bot', command, env: process.env}, deps)).rejects.toMatchObject({kind: 'tokenInvalid', exitCode: 4})
    expect(existsSync(marker)).toBe(false)
  })
})
