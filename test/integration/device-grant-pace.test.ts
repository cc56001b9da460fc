// A device grant whose server asks for an absurd polling interval, against the real stack (Synapse
// in its MAS mode, the sign-in service stand-in): relays in front of both rewrite the interval and
// count, from outside mxtok, how often it asks the token endpoint while nobody approves.
import {spawn} from 'node:child_process'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BIN, tempDir} from '../support/cli.js'
import {type RecordingRelay, startRecordingRelay} from '../support/recording-relay.js'
import {service} from '../support/services.js'

const stack = await service('masStack')
const keyringEnv = await service('keyringEnv')

let interval: unknown
let auth: RecordingRelay
let homeserver: RecordingRelay

beforeAll(async () => {
  const issuer = new URL(stack.issuer).origin
  auth = await startRecordingRelay(stack.issuer, {
    rewrite: (_, text) => {
      try {
        const body = JSON.parse(text)
        if (typeof body?.device_code === 'string') return JSON.stringify({...body, interval})
      } catch {}
      return text
    },
  })
  // The homeserver's metadata names the sign-in service's endpoints: they are pointed at its relay.
  homeserver = await startRecordingRelay(stack.baseUrl, {
    rewrite: (path, text) => (path === '/_matrix/client/v1/auth_metadata' ? text.split(issuer).join(auth.url) : text),
  })
})

afterAll(async () => {
  await Promise.all([auth.stop(), homeserver.stop()])
})

/** Runs create --oauth for `ms` with nobody at the browser, then Ctrl-C. */
function createUnapproved(ms: number): Promise<{code: number | null; stderr: string}> {
  const dir = tempDir('mxtok-pace-')
  const env = {...keyringEnv, PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', HOME: dir, MXTOK_CONFIG_DIR: dir}
  const child = spawn(process.execPath, [BIN, 'create', 'bot', '--user', `@pace:${stack.serverName}`, '--homeserver', homeserver.url, '--oauth'], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d) => {
    stderr += d
  })
  const interrupt = setTimeout(() => child.kill('SIGINT'), ms)
  const kill = setTimeout(() => child.kill('SIGKILL'), ms + 15_000)
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(interrupt)
      clearTimeout(kill)
      resolve({code, stderr})
    })
  })
}

describe('the pace of a device grant', () => {
  it.each([
    // A tiny interval was taken as is: hundreds of requests a second against the user's own server.
    [0.001, 3, 5],
    // A huge one overflowed Node's timer into a poll every millisecond, with a warning each.
    [1e300, 0, 0],
  ])('with an interval of %s s, polls the token endpoint %s to %s times in 5 s, and Ctrl-C ends it', async (asked, least, most) => {
    interval = asked
    const tokenPath = `${new URL(stack.issuer).pathname.replace(/\/$/, '')}/oauth2/token`
    auth.exchanges.length = 0
    const r = await createUnapproved(5000)
    const polls = auth.exchanges.filter((e) => e.path.split('?')[0] === tokenPath).map((e) => e.at)
    expect(auth.exchanges.length, auth.exchanges.map((e) => e.path).join(' ')).toBeGreaterThan(0)
    expect(polls.length).toBeGreaterThanOrEqual(least)
    expect(polls.length).toBeLessThanOrEqual(most)
    // One second at least between two polls.
    for (let i = 1; i < polls.length; i++) expect(polls[i] - polls[i - 1]).toBeGreaterThan(900)
    expect(r.stderr).not.toMatch(/TimeoutOverflowWarning/)
    expect(r.stderr).toMatch(/mxtok: cancelled; nothing was created/)
    expect(r.code).toBe(2)
  })
})
