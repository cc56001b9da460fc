// Next-generation auth against a real stack: Synapse in its MAS mode, a standards OAuth 2.0
// provider standing in for MAS, and a scripted browser approving each sign-in. Outcomes are checked
// from outside mxtok: Synapse's database and whoami, and the sign-in service's introspection.
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeEach, describe, expect, it} from 'vitest'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import {type Approval, approveDeviceCode, type Page} from '../support/browser.js'
import {type CliResult, expectOneLineError, runCli, tempDir} from '../support/cli.js'
import {addAccount, forgetClient, introspect, killAccessToken, synapseDevices} from '../support/mas-stack-client.js'
import {service} from '../support/services.js'
import {rawWhoami} from '../support/synapse.js'

const stack = await service('masStack')
const keyringEnv = await service('keyringEnv')

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
  const raw = execFileSync('secret-tool', ['lookup', 'service', 'mxtok', 'username', `${userId}/${deviceId}`], {
    env: {...process.env, ...keyringEnv},
    encoding: 'utf8',
  })
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
    const created = await mxtok(['create', 'bot', '--user', a.user, '--homeserver', stack.baseUrl, '--oauth'], {
      browser: {username: a.localpart, password: a.password},
    })
    expect(created.code, created.stderr).toBe(0)
    expect(created.page?.html).toContain('Sign-in Success')
    expect(registry().sessions.bot).toMatchObject({
      userId: a.user,
      deviceId: a.device,
      auth: 'oauth',
      oauth: {issuer: stack.issuer, tokenEndpoint: `${stack.issuer}/oauth2/token`},
    })
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

  it('refreshes when due, once for two runs at once, and after the server killed the access token', async () => {
    // 30 s of life is inside mxtok's 60 s margin: every use refreshes first.
    const a = await account(30)
    const created = await mxtok(['create', 'bot', '--user', a.user, '--homeserver', stack.baseUrl, '--oauth'], {
      browser: {username: a.localpart, password: a.password},
    })
    expect(created.code, created.stderr).toBe(0)
    const first = storedPair(a.user, a.device)

    const token = await mxtok(['token', 'bot'])
    expect(token.code, token.stderr).toBe(0)
    const second = storedPair(a.user, a.device)
    expect(second.access_token).not.toBe(first.access_token)
    expect(token.stdout).toBe(`${second.access_token}\n`)
    // The refresh token rotated: the old one is spent, the new one live.
    expect(await introspect(stack, first.refresh_token)).toMatchObject({active: false})
    expect(await introspect(stack, second.refresh_token)).toMatchObject({active: true})

    // Both find the pair about to expire; one refreshes under the lock, the other takes its pair. Had
    // both refreshed it, the second would have presented a spent refresh token, and the sign-in
    // service would have ended the whole grant: that run would fail and every token die. (A run that
    // starts only after the other has finished finds the new pair due too, and rightly refreshes it
    // again; which happens depends on the machine's load, so both outcomes are accepted.)
    const [x, y] = await Promise.all([mxtok(['token', 'bot']), mxtok(['token', 'bot'])])
    expect([x.code, y.code], x.stderr + y.stderr).toEqual([0, 0])
    const third = storedPair(a.user, a.device)
    expect([x.stdout, y.stdout]).toContain(`${third.access_token}\n`)
    expect(third.access_token).not.toBe(second.access_token)
    expect(await introspect(stack, third.refresh_token)).toMatchObject({active: true})
    for (const printed of new Set([x.stdout.trim(), y.stdout.trim()])) expect((await rawWhoami(stack.baseUrl, printed)).status).toBe(200)

    // From now on tokens live an hour; the next use still refreshes the 30 s one.
    await addAccount(stack, a.localpart, a.password, 3600)
    expect((await mxtok(['token', 'bot'])).code).toBe(0)
    const fourth = storedPair(a.user, a.device)
    // Killed at the sign-in service before Synapse ever saw it: whoami refuses it, though mxtok
    // still thinks it has an hour, and verify refreshes once.
    await killAccessToken(stack, fourth.access_token)
    expect((await rawWhoami(stack.baseUrl, fourth.access_token)).status).toBe(401)
    const verify = await mxtok(['verify', '--json'])
    expect(verify.code, verify.stderr).toBe(0)
    expect(JSON.parse(verify.stdout)).toEqual([{name: 'bot', status: 'valid', userId: a.user, deviceId: a.device}])
    const fifth = storedPair(a.user, a.device)
    expect(fifth.access_token).not.toBe(fourth.access_token)
    expect((await rawWhoami(stack.baseUrl, fifth.access_token)).status).toBe(200)

    const revoke = await mxtok(['revoke', 'bot'])
    expect(revoke.code, revoke.stderr).toBe(0)
    expect(await introspect(stack, fifth.refresh_token)).toMatchObject({active: false})
    expect(synapseDevices(stack, a.user)).toEqual([])
  })

  it('a refused approval creates nothing: exit 3, no session, no device', async () => {
    const a = await account()
    const r = await mxtok(['create', 'bot', '--user', a.user, '--homeserver', stack.baseUrl, '--oauth'], {
      browser: {username: a.localpart, password: a.password, decision: 'Deny'},
    })
    expect(r.code).toBe(3)
    expect(r.stderr.split('\n').filter((l) => l.startsWith('mxtok: '))).toEqual([
      `mxtok: the sign-in of ${a.user} was refused at ${new URL(stack.issuer).host}; nothing was created — run create again to retry`,
    ])
    expect(registry().sessions).toEqual({})
    expect(keychainHas(a.user, a.device)).toBe(false)
    expect(synapseDevices(stack, a.user)).toEqual([])
  })

  it('an approval by the wrong account is revoked: exit 3, and that account keeps no new device', async () => {
    const wanted = await account()
    const other = await account()
    const r = await mxtok(['create', 'bot', '--user', wanted.user, '--homeserver', stack.baseUrl, '--oauth'], {
      browser: {username: other.localpart, password: other.password},
    })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(`mxtok: the browser signed in as ${other.user}, not ${wanted.user}; the new session was revoked`)
    expect(registry().sessions).toEqual({})
    expect(keychainHas(wanted.user, wanted.device)).toBe(false)
    // The sign-in service provisioned the device for the account that signed in, and deleted it at the revocation.
    expect(synapseDevices(stack, other.user)).toEqual([])
    expect(synapseDevices(stack, wanted.user)).toEqual([])
  })

  it('re-creating a name keeps the device and ends the session it replaces', async () => {
    const a = await account()
    const browser = {username: a.localpart, password: a.password}
    expect((await mxtok(['create', 'bot', '--user', a.user, '--homeserver', stack.baseUrl, '--oauth'], {browser})).code).toBe(0)
    const old = storedPair(a.user, a.device)
    const again = await mxtok(['create', 'bot', '--user', a.user, '--homeserver', stack.baseUrl, '--oauth'], {browser})
    expect(again.code, again.stderr).toBe(0)
    const fresh = storedPair(a.user, a.device)
    expect(fresh.refresh_token).not.toBe(old.refresh_token)
    expect(await introspect(stack, old.refresh_token)).toMatchObject({active: false})
    expect(await introspect(stack, old.access_token)).toMatchObject({active: false})
    expect(await introspect(stack, fresh.refresh_token)).toMatchObject({active: true})
    expect(synapseDevices(stack, a.user).map((d) => d.device_id)).toEqual([a.device])
    expect(await rawWhoami(stack.baseUrl, fresh.access_token)).toMatchObject({status: 200, body: {user_id: a.user, device_id: a.device}})
    expect(Object.keys(registry().sessions)).toEqual(['bot'])
    expect((await mxtok(['revoke', 'bot'])).code).toBe(0)
  })

  it('create without --oauth goes the OAuth way on a server whose /login answers 404 but that publishes auth metadata', async () => {
    const probe = await fetch(`${stack.baseUrl}/_matrix/client/v3/login`)
    expect(probe.status).toBe(404)
    expect(await probe.json()).toMatchObject({errcode: 'M_UNRECOGNIZED'})
    const a = await account()
    const r = await mxtok(['create', 'bot', '--user', a.user, '--homeserver', stack.baseUrl], {browser: {username: a.localpart, password: a.password}})
    expect(r.code, r.stderr).toBe(0)
    expect(registry().sessions.bot).toMatchObject({auth: 'oauth', deviceId: a.device})
    expect(await rawWhoami(stack.baseUrl, storedPair(a.user, a.device).access_token)).toMatchObject({status: 200, body: {user_id: a.user, device_id: a.device}})
    expect((await mxtok(['revoke', 'bot'])).code).toBe(0)
  })

  it('a sign-in service that no longer knows the client: verify says revoked with the fix, token exits 4, revoke forgets the session', async () => {
    // 30 s: each use refreshes, and the refresh is where the unknown client shows.
    const a = await account(30)
    expect(
      (await mxtok(['create', 'bot', '--user', a.user, '--homeserver', stack.baseUrl, '--oauth'], {browser: {username: a.localpart, password: a.password}}))
        .code,
    ).toBe(0)
    storedPair(a.user, a.device)
    await forgetClient(stack, registry().sessions.bot.oauth.clientId)
    const host = new URL(stack.baseUrl).host

    const verify = await mxtok(['verify', '--json'])
    expect(verify.code).toBe(4)
    expect(JSON.parse(verify.stdout)).toEqual([
      {
        name: 'bot',
        status: 'revoked',
        userId: a.user,
        deviceId: a.device,
        error: `the sign-in service of ${host} no longer knows the client of session "bot" (invalid_client), so its tokens are dead; create it again`,
      },
    ])

    const token = await mxtok(['token', 'bot'])
    expect(token.code).toBe(4)
    expect(token.stdout).toBe('')
    expectOneLineError(token)

    const revoke = await mxtok(['revoke', 'bot'])
    expect(revoke.code, revoke.stderr).toBe(0)
    expect(registry().sessions).toEqual({})
    expect(keychainHas(a.user, a.device)).toBe(false)
  })

  it('token exits 4 with one line once the sign-in service ended the grant (a spent refresh token presented again)', async () => {
    const a = await account(30)
    expect(
      (await mxtok(['create', 'bot', '--user', a.user, '--homeserver', stack.baseUrl, '--oauth'], {browser: {username: a.localpart, password: a.password}}))
        .code,
    ).toBe(0)
    const stored = storedPair(a.user, a.device)
    // Someone else refreshed with the stored refresh token: mxtok's copy is spent, and presenting
    // it again makes the sign-in service end the whole grant.
    const {tokenEndpoint, clientId} = registry().sessions.bot.oauth
    const stolen = await fetch(tokenEndpoint, {
      method: 'POST',
      body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: stored.refresh_token, client_id: clientId}),
    })
    expect(stolen.status).toBe(200)
    const theirs = (await stolen.json()) as {refresh_token: string}
    secrets.add(theirs.refresh_token)

    const r = await mxtok(['token', 'bot'])
    expect(r.code).toBe(4)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe(
      `mxtok: the sign-in service of ${new URL(stack.baseUrl).host} no longer accepts the refresh token of session "bot" (invalid_grant): the session was ended there; create it again\n`,
    )
    expect(await introspect(stack, theirs.refresh_token)).toMatchObject({active: false})
    await mxtok(['revoke', 'bot', '--local-only'])
  })
})
