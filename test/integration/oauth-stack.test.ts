// Next-generation auth against a real stack: Synapse in its MAS mode, a standards OAuth 2.0
// provider standing in for MAS, and a scripted browser approving each sign-in. Outcomes are checked
// from outside mxtok: Synapse's database and whoami, and the sign-in service's introspection.
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeEach, describe, expect, inject, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {approveDeviceCode, type Approval, type Page} from '../support/browser.js'
import {expectOneLineError, runCli, tempDir, type CliResult} from '../support/cli.js'
import {addAccount, forgetClient, introspect, killAccessToken, synapseDevices} from '../support/mas-stack-client.js'
import {rawWhoami} from '../support/synapse.js'

const stack = inject('masStack')
const keyringEnv = inject('keyringEnv')

let configDir: string
/** Every token and refresh token seen in the keychain: none may show up in any output but `mxtok token`'s. */
const secrets = new Set<string>()

beforeEach(() => {
  configDir = tempDir('mxtok-oauth-stack-')
})

async function mxtok(args: string[], opts: {browser?: Approval; env?: Record<string, string>} = {}): Promise<CliResult & {page?: Page}> {
  let approval: Promise<Page> | undefined
  const r = await runCli(args, {
    env: {...keyringEnv, HOME: configDir, MXTOK_CONFIG_DIR: configDir, ...opts.env},
    timeoutMs: 45_000,
    // The person at the browser acts once mxtok shows the link, while it polls.
    onStderr: (soFar) => {
      const link = / open (http\S+user_code=\S+)/.exec(soFar)?.[1]
      if (link && opts.browser && !approval) approval = approveDeviceCode(link, opts.browser)
    },
  })
  const page = await approval
  for (const s of secrets) {
    expect(r.stderr).not.toContain(s)
    if (args[0] !== 'token') expect(r.stdout).not.toContain(s)
  }
  return {...r, page}
}

const registry = () => JSON.parse(readFileSync(join(configDir, 'sessions.json'), 'utf8'))

interface Pair {
  access_token: string
  refresh_token: string
  expires_at: string
}

function storedPair(userId: string, deviceId: string): Pair {
  const raw = execFileSync('secret-tool', ['lookup', 'service', 'mxtok', 'username', `${userId}/${deviceId}`], {env: {...process.env, ...keyringEnv}, encoding: 'utf8'})
  const pair = JSON.parse(raw) as Pair
  secrets.add(pair.access_token).add(pair.refresh_token)
  return pair
}

const keychainHas = (userId: string, deviceId: string) => {
  try {
    storedPair(userId, deviceId)
    return true
  } catch {
    return false
  }
}

let n = 0
/** A fresh account for each test, so that no test sees another's devices. */
async function account(ttl?: number): Promise<{user: string; localpart: string; password: string; device: string}> {
  const localpart = `oauth${process.pid}x${++n}`
  const password = `pw-${localpart}-Xq3Lm`
  const user = await addAccount(stack, localpart, password, ttl)
  return {user, localpart, password, device: deriveDeviceId(user, 'bot')}
}

describe('next-generation auth against Synapse in its MAS mode and a real OAuth 2.0 sign-in service', () => {
  it('create --oauth through the browser; token, exec, rename and revoke work on the real server', async () => {
    const a = await account()
    const created = await mxtok(['create', 'bot', '--user', a.user, '--homeserver', stack.baseUrl, '--oauth'], {browser: {username: a.localpart, password: a.password}})
    expect(created.code, created.stderr).toBe(0)
    expect(created.page?.html).toContain('Sign-in Success')
    expect(registry().sessions.bot).toMatchObject({userId: a.user, deviceId: a.device, auth: 'oauth', oauth: {issuer: stack.issuer, tokenEndpoint: `${stack.issuer}/oauth2/token`}})
    const pair = storedPair(a.user, a.device)
    expect(await rawWhoami(stack.baseUrl, pair.access_token)).toEqual({status: 200, body: {user_id: a.user, device_id: a.device, is_guest: false}})
    expect(synapseDevices(stack, a.user).map((d) => d.device_id)).toEqual([a.device])

    // Five minutes left: no refresh, the stored token as it is.
    const token = await mxtok(['token', 'bot'])
    expect(token.code, token.stderr).toBe(0)
    expect(token.stdout).toBe(`${pair.access_token}\n`)

    const whoami = `fetch(process.env.MATRIX_HOMESERVER_URL + '/_matrix/client/v3/account/whoami', {headers: {Authorization: 'Bearer ' + process.env.MATRIX_ACCESS_TOKEN}}).then((r) => r.json()).then((b) => console.log(JSON.stringify(b)))`
    const exec = await mxtok(['exec', 'bot', '--', process.execPath, '-e', whoami])
    expect(exec.code, exec.stderr).toBe(0)
    expect(JSON.parse(exec.stdout)).toEqual({user_id: a.user, device_id: a.device, is_guest: false})

    const rename = await mxtok(['rename', 'bot', '--device-name', 'the bot, renamed'])
    expect(rename.code, rename.stderr).toBe(0)
    expect(synapseDevices(stack, a.user)).toEqual([{device_id: a.device, display_name: 'the bot, renamed'}])

    const revoke = await mxtok(['revoke', 'bot'])
    expect(revoke.code, revoke.stderr).toBe(0)
    expect(registry().sessions).toEqual({})
    expect(keychainHas(a.user, a.device)).toBe(false)
    expect(await introspect(stack, pair.refresh_token)).toMatchObject({active: false})
    expect(await introspect(stack, pair.access_token)).toMatchObject({active: false})
    // The sign-in service deleted the device, and the token died with it at once.
    expect(synapseDevices(stack, a.user)).toEqual([])
    expect((await rawWhoami(stack.baseUrl, pair.access_token)).status).toBe(401)
  })
})
