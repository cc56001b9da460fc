// A real bot under the built `mxtok exec` on Synapse: another user says "ping" and sees its "pong";
// the session is rotated, and the bot answers again with the new token, restarted by exec without
// the test touching it; with --no-restart it is left deaf; a revoke stops it.
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {terminate} from '../support/child-process.js'
import {expectNoSecrets, mxtokRunner, tempDir} from '../support/cli.js'
import {type BotUnderExec, botUnderExec, Pinger} from '../support/ping-bot.js'
import {service} from '../support/services.js'
import {rawLogin, rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'exec-restart-password-do-not-leak'

describe('a bot under mxtok exec on Synapse', () => {
  const secrets = new Set<string>([PASSWORD])
  let configDir: string
  let botId: string
  let pinger: Pinger
  let bot: BotUnderExec | undefined
  const {env, mxtok, token} = mxtokRunner(keyringEnv, () => configDir, secrets)

  beforeAll(async () => {
    configDir = tempDir('mxtok-exec-restart-')
    botId = await registerUser(synapse, `pingbot${process.pid}`, PASSWORD)
    const friendId = await registerUser(synapse, `pinger${process.pid}`, PASSWORD)
    const friend = await rawLogin(synapse.baseUrl, friendId, PASSWORD)
    secrets.add(friend.access_token)
    pinger = new Pinger(synapse.baseUrl, friend.access_token)
  })
  afterEach(async () => {
    if (bot) await terminate(bot.child, 5_000)
    bot = undefined
  })

  const create = async (name: string) => {
    const c = await mxtok(['create', name, '--user', botId, '--homeserver', synapse.baseUrl, '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(c.code, c.stderr).toBe(0)
  }
  const rotate = async (name: string) => {
    const r = await mxtok(['rotate', name, '--yes', '--password-stdin'], {}, `${PASSWORD}\n`)
    expect(r.code, r.stderr).toBe(0)
  }

  it('answers, answers again with the new token after its session is rotated, and is stopped when the session is revoked', async () => {
    await create('bot')
    const old = await token('bot')
    bot = botUnderExec('bot', env())
    await bot.ready()
    const room = await pinger.roomWith(botId)
    await pinger.pingUntilPong(room, botId)

    await rotate('bot')
    const fresh = await token('bot')
    expect((await rawWhoami(synapse.baseUrl, old)).status).toBe(401)
    await pinger.pingUntilPong(room, botId)
    expect(bot.starts()).toBe(2)
    expect(bot.stderr()).toContain('mxtok: warning: session "bot" has a new token: restarting')
    expect(bot.stderr()).toContain('stopping on SIGTERM')
    expect((await rawWhoami(synapse.baseUrl, fresh)).status).toBe(200)

    const revoked = await mxtok(['revoke', 'bot'])
    expect(revoked.code, revoked.stderr).toBe(0)
    const {code} = await bot.ended
    expect(code, bot.stderr()).toBe(4)
    const lines = bot.stderr().trim().split('\n')
    expect(lines.at(-2)).toMatch(/stopping on SIGTERM$/)
    expect(lines.at(-1)).toMatch(/^mxtok: session "bot" was revoked or forgotten; create it again \(.*node was stopped\)$/)
    expectNoSecrets({code, stdout: '', stderr: bot.stderr()}, secrets)
  })

  it('with --no-restart, leaves the bot running with the token it has, dead or not', async () => {
    await create('deaf')
    bot = botUnderExec('deaf', env(), ['--no-restart'])
    await bot.ready()
    await rotate('deaf')
    await token('deaf')
    const deadline = Date.now() + 20_000
    while (!bot.stderr().includes('sync refused: 401 M_UNKNOWN_TOKEN') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    expect(bot.stderr()).toContain('sync refused: 401 M_UNKNOWN_TOKEN')
    // Several registry checks later, still the one bot.
    await new Promise((r) => setTimeout(r, 5_000))
    expect(bot.starts()).toBe(1)
    expect(bot.stderr()).not.toContain('has a new token')
    bot.child.kill('SIGTERM')
    expect((await bot.ended).code).toBe(0)
    expectNoSecrets({code: 0, stdout: '', stderr: bot.stderr()}, secrets)
  })
})
