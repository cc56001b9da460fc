// Standard input that never ends a line: the built CLI must refuse it with exit 2, promptly and in
// bounded memory, seen from outside (its exit, its wall time, its peak RSS as /usr/bin/time measures it).
import {spawn} from 'node:child_process'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, tempDir} from '../support/cli.js'
import {service} from '../support/services.js'

const keyringEnv = await service('keyringEnv')

interface Measured {
  code: number | null
  stderr: string
  ms: number
  peakKiB: number
  written: number
}

/**
 * Runs mxtok under /usr/bin/time with a writer that has no end: 64 KiB chunks of one byte, no
 * newline, made afresh each time the pipe drains, until mxtok exits or 20 s have passed.
 */
function runWithEndlessInput(args: string[]): Promise<Measured> {
  const dir = tempDir('mxtok-endless-')
  const env = {...keyringEnv, PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: dir, MXTOK_CONFIG_DIR: dir}
  const started = performance.now()
  const child = spawn('/usr/bin/time', ['-q', '-f', 'peak %M', process.execPath, BIN, ...args], {env, stdio: ['pipe', 'ignore', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  let written = 0
  let open = true
  const chunk = () => Buffer.alloc(64 * 1024, 0x61)
  const write = () => {
    while (open && child.stdin.write(chunk())) written += 64 * 1024
  }
  child.stdin.on('drain', write)
  child.stdin.on('error', () => (open = false))
  write()
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  return new Promise((resolve) => {
    child.on('close', (code) => {
      open = false
      clearTimeout(timer)
      const peak = /peak (\d+)/.exec(stderr)
      resolve({code, stderr: stderr.replace(/peak \d+\n?/, ''), ms: performance.now() - started, peakKiB: peak ? Number(peak[1]) : Number.NaN, written})
    })
  })
}

let homeserver: Server
let hsUrl: string

beforeAll(async () => {
  // A homeserver stand-in that offers a password login, so that create gets as far as reading the password.
  homeserver = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(req.url === '/_matrix/client/v3/login' ? JSON.stringify({flows: [{type: 'm.login.password'}]}) : '{"errcode":"M_UNRECOGNIZED","error":"no"}')
  })
  await new Promise<void>((resolve) => homeserver.listen(0, '127.0.0.1', resolve))
  hsUrl = `http://127.0.0.1:${(homeserver.address() as AddressInfo).port}`
})

afterAll(() => new Promise<void>((resolve) => homeserver.close(() => resolve())))

describe('standard input without a newline', () => {
  it('import --token-stdin: exit 2 within seconds, under 150 MB', async () => {
    const r = await runWithEndlessInput(['import', 'x', '--token-stdin', '--homeserver', 'http://127.0.0.1:9'])
    expect(r.stderr.trim()).toBe('mxtok: --token-stdin read more than 64 KiB without a newline; pipe the token followed by a newline')
    expect(r.code).toBe(2)
    expect(r.ms).toBeLessThan(5000)
    expect(r.peakKiB).toBeLessThan(150 * 1024)
  })

  it('create --password-stdin: exit 2 within seconds, under 150 MB', async () => {
    const r = await runWithEndlessInput(['create', 'x', '--user', '@bot:hs.example', '--homeserver', hsUrl, '--password-stdin'])
    expect(r.stderr.trim()).toBe('mxtok: --password-stdin read more than 64 KiB without a newline; pipe the password followed by a newline')
    expect(r.code).toBe(2)
    expect(r.ms).toBeLessThan(5000)
    expect(r.peakKiB).toBeLessThan(150 * 1024)
  })
})
