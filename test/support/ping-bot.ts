// The test side of test/fixtures/ping-bot.mjs: the bot under the built `mxtok exec`, and another
// user who invites it to a room, says "ping" and waits for its "pong" — what a person would see.
import {type ChildProcess, spawn} from 'node:child_process'
import {resolve} from 'node:path'
import {exited, killOnExit} from './child-process.js'
import {BIN, type Env} from './cli.js'

export const PING_BOT = resolve(import.meta.dirname, '../fixtures/ping-bot.mjs')

export interface BotUnderExec {
  child: ChildProcess
  /** mxtok's and the bot's standard error so far. */
  stderr(): string
  /** How many times the bot has started. */
  starts(): number
  /** Resolves once the bot has made its first sync this many times. */
  ready(times?: number, timeoutMs?: number): Promise<void>
  /** How exec ended. */
  ended: Promise<{code: number | null; signal: NodeJS.Signals | null}>
}

/** `mxtok exec NAME [FLAGS] -- node ping-bot.mjs`, running until the test ends it or it ends itself. */
export function botUnderExec(name: string, env: Env, flags: string[] = []): BotUnderExec {
  const clean: Record<string, string> = {PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8'}
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v
  const child = spawn(process.execPath, [BIN, 'exec', name, ...flags, '--', process.execPath, PING_BOT], {env: clean, stdio: ['ignore', 'pipe', 'pipe']})
  killOnExit(child)
  let stderr = ''
  child.stderr?.on('data', (d) => (stderr += d))
  child.stdout?.on('data', (d) => (stderr += d))
  const ended = new Promise<{code: number | null; signal: NodeJS.Signals | null}>((done) => child.on('exit', (code, signal) => done({code, signal})))
  const count = (what: RegExp) => (stderr.match(what) ?? []).length
  return {
    child,
    stderr: () => stderr,
    starts: () => count(/: started as /g),
    ended,
    async ready(times = 1, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs
      while (count(/: ready$/gm) < times) {
        if (exited(child) || Date.now() > deadline) throw new Error(`the bot was not ready ${times} time(s); its output:\n${stderr}`)
        await sleep(100)
      }
    },
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Another user of the homeserver, talking to the bot as a person would, through the client API. */
export class Pinger {
  private sent = 0

  constructor(
    private readonly homeserver: string,
    private readonly token: string,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.homeserver}/_matrix/client/v3${path}`, {
      method,
      headers: {Authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : {'Content-Type': 'application/json'})},
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const answer = (await res.json()) as Record<string, unknown>
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(answer)}`)
    return answer
  }

  /** A private room with the bot invited. */
  async roomWith(bot: string): Promise<string> {
    return (await this.call('POST', '/createRoom', {preset: 'private_chat', invite: [bot]})).room_id as string
  }

  /**
   * Says "ping" until the bot answers "pong" after it, again every few seconds (a bot that was
   * being restarted misses what was said before it synced). Resolves to the pings it took.
   */
  async pingUntilPong(roomId: string, bot: string, timeoutMs = 45_000): Promise<number> {
    const deadline = Date.now() + timeoutMs
    for (let pings = 1; ; pings++) {
      const ping = (
        await this.call('PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/ping-${process.pid}-${++this.sent}`, {msgtype: 'm.text', body: 'ping'})
      ).event_id as string
      const askAgainAt = Date.now() + 4_000
      while (Date.now() < askAgainAt) {
        if (await this.pongAfter(roomId, bot, ping)) return pings
        if (Date.now() > deadline) throw new Error(`no pong from ${bot} within ${timeoutMs / 1000} s`)
        await sleep(250)
      }
    }
  }

  /** Whether the room's latest messages have a "pong" from the bot that came after `ping`. */
  private async pongAfter(roomId: string, bot: string, ping: string): Promise<boolean> {
    const {chunk} = (await this.call('GET', `/rooms/${encodeURIComponent(roomId)}/messages?dir=b&limit=50`)) as {
      chunk: {event_id: string; sender: string; type: string; content?: {body?: string}}[]
    }
    for (const event of chunk) {
      if (event.event_id === ping) return false
      if (event.sender === bot && event.type === 'm.room.message' && event.content?.body === 'pong') return true
    }
    return false
  }
}
