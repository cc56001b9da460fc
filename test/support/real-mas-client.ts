// What a test does to the real MAS from outside mxtok: accounts and compatibility tokens with
// mas-cli, personal tokens and MAS's own view of every session through its admin API.
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import type {ProvidedRealMas} from './real-mas.js'

const run = promisify(execFile)

async function masCli(stack: ProvidedRealMas, args: string[]): Promise<string> {
  const [command, ...first] = stack.masCli
  try {
    const {stdout, stderr} = await run(command, [...first, ...args], {env: {...process.env, RUST_LOG: 'info', NO_COLOR: '1'}})
    return stdout + stderr
  } catch (error) {
    const e = error as {stdout?: string; stderr?: string; message: string}
    throw new Error(`mas-cli ${args[0]} ${args[1]} failed: ${e.message.split('\n')[0]}\n${e.stdout ?? ''}${e.stderr ?? ''}`)
  }
}

const PROVISION_TIMEOUT_MS = 30_000

/**
 * An account at MAS (with `admin`, one that may ask for the admin API's scope), once Synapse has it
 * too: MAS provisions it there in the background, and until then MAS fails to make a personal
 * session with a device for it (500, "User not found" from Synapse). The password is a test's
 * throwaway: mas-cli takes it only in argv.
 */
export async function registerMasUser(stack: ProvidedRealMas, localpart: string, password: string, opts: {admin?: boolean} = {}): Promise<string> {
  await masCli(stack, ['manage', 'register-user', '-y', '-p', password, ...(opts.admin ? ['-a'] : []), '--ignore-password-complexity', localpart])
  const userId = `@${localpart}:${stack.serverName}`
  const deadline = Date.now() + PROVISION_TIMEOUT_MS
  while ((await fetch(`${stack.synapseUrl}/_matrix/client/v3/profile/${encodeURIComponent(userId)}`)).status !== 200) {
    if (Date.now() > deadline) throw new Error(`MAS did not provision ${userId} at Synapse within ${PROVISION_TIMEOUT_MS / 1000} s`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return userId
}

/** An `mct_` token as an operator issues one, on `deviceId` or a device MAS picks. */
export async function issueCompatibilityToken(stack: ProvidedRealMas, localpart: string, deviceId?: string): Promise<string> {
  const out = await masCli(stack, ['manage', 'issue-compatibility-token', localpart, ...(deviceId ? [deviceId] : [])])
  const token = /\bmct_[A-Za-z0-9_]+/.exec(out)?.[0]
  if (token === undefined) throw new Error('mas-cli issue-compatibility-token printed no mct_ token')
  return token
}

export interface AdminAnswer {
  status: number
  body: {data?: unknown; errors?: {title: string}[]} & Record<string, unknown>
}

const adminTokens = new Map<string, {token: string; renewAt: number}>()

/** A token of the operator's client (client_credentials), kept until half its life is gone. */
async function adminToken(stack: ProvidedRealMas): Promise<string> {
  const kept = adminTokens.get(stack.masUrl)
  if (kept && Date.now() < kept.renewAt) return kept.token
  const basic = Buffer.from(`${stack.adminClient.id}:${stack.adminClient.secret}`).toString('base64')
  const res = await fetch(`${stack.masUrl}/oauth2/token`, {
    method: 'POST',
    headers: {Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({grant_type: 'client_credentials', scope: 'urn:mas:admin'}).toString(),
  })
  const body = (await res.json()) as {access_token?: string; expires_in?: number}
  if (!res.ok || typeof body.access_token !== 'string') throw new Error(`client_credentials at MAS: ${res.status} ${JSON.stringify(body)}`)
  adminTokens.set(stack.masUrl, {token: body.access_token, renewAt: Date.now() + ((body.expires_in ?? 60) * 1000) / 2})
  return body.access_token
}

/** A call to MAS's admin API (`path` under /api/admin/v1), as the operator's client. */
export async function masAdmin(stack: ProvidedRealMas, method: 'GET' | 'POST', path: string, body?: unknown): Promise<AdminAnswer> {
  const res = await fetch(`${stack.masUrl}/api/admin/v1${path}`, {
    method,
    headers: {Authorization: `Bearer ${await adminToken(stack)}`, ...(body === undefined ? {} : {'Content-Type': 'application/json'})},
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return {status: res.status, body: text === '' ? {} : (JSON.parse(text) as AdminAnswer['body'])}
}

async function adminData<T>(stack: ProvidedRealMas, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const answer = await masAdmin(stack, method, path, body)
  if (answer.status >= 300) throw new Error(`${method} ${path} at MAS's admin API: ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body.data as T
}

export interface AdminResource {
  id: string
  attributes: Record<string, unknown>
}

export async function masUserId(stack: ProvidedRealMas, localpart: string): Promise<string> {
  return (await adminData<AdminResource>(stack, 'GET', `/users/by-username/${encodeURIComponent(localpart)}`)).id
}

/**
 * A personal access token (`mpt_`) for the user, made as an operator makes one; with `deviceId` its
 * scope gives it that device. The token is in MAS's answer this once.
 */
export async function issuePersonalToken(stack: ProvidedRealMas, localpart: string, opts: {deviceId?: string} = {}): Promise<{id: string; token: string}> {
  const scope = ['urn:matrix:client:api:*', ...(opts.deviceId ? [`urn:matrix:client:device:${opts.deviceId}`] : [])].join(' ')
  const session = await adminData<AdminResource>(stack, 'POST', '/personal-sessions', {
    actor_user_id: await masUserId(stack, localpart),
    human_name: `test token of ${localpart}`,
    scope,
  })
  const token = session.attributes.access_token
  if (typeof token !== 'string') throw new Error('MAS made a personal session but gave no access_token')
  return {id: session.id, token}
}

export type SessionKind = 'compat-sessions' | 'oauth2-sessions' | 'personal-sessions'

/** One kind of the user's sessions, as MAS itself holds them (every status, first page). */
export async function masSessions(stack: ProvidedRealMas, kind: SessionKind, localpart: string): Promise<AdminResource[]> {
  const user = await masUserId(stack, localpart)
  return adminData<AdminResource[]>(stack, 'GET', `/${kind}?filter[user]=${user}&page[first]=100`)
}

export async function masSession(stack: ProvidedRealMas, kind: SessionKind, id: string): Promise<AdminResource> {
  return adminData<AdminResource>(stack, 'GET', `/${kind}/${id}`)
}

/** The user's compatibility session on this device, finished or not; MAS keeps finished ones. */
export async function compatSessionOnDevice(stack: ProvidedRealMas, localpart: string, deviceId: string): Promise<AdminResource[]> {
  return (await masSessions(stack, 'compat-sessions', localpart)).filter((s) => s.attributes.device_id === deviceId)
}
