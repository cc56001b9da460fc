// What a test does to the MAS-mode stack from outside mxtok: accounts at the sign-in service, raw
// introspection, killing a token or a client, and reading Synapse's own database.
import {execFileSync} from 'node:child_process'
import {join} from 'node:path'
import type {ProvidedMasStack} from './mas-stack.js'
import {synapseVenvDir} from './synapse.js'

async function control(stack: ProvidedMasStack, method: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${stack.controlUrl}/${path}`, {
    method,
    headers: {Authorization: `Bearer ${stack.secret}`, 'Content-Type': 'application/json'},
    body: JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`${method} ${stack.controlUrl}/${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as Record<string, unknown>
}

/** An account at the sign-in service; Synapse learns of it only when it first gets a token. */
export async function addAccount(stack: ProvidedMasStack, localpart: string, password: string, accessTokenTtl = 300): Promise<string> {
  await control(stack, 'PUT', `accounts/${encodeURIComponent(localpart)}`, {password, accessTokenTtl})
  return `@${localpart}:${stack.serverName}`
}

export async function killAccessToken(stack: ProvidedMasStack, token: string): Promise<void> {
  const {killed} = await control(stack, 'POST', 'kill-access-token', {token})
  if (killed !== true) throw new Error('the sign-in service did not know that access token')
}

export async function forgetClient(stack: ProvidedMasStack, clientId: string): Promise<void> {
  const {forgotten} = await control(stack, 'POST', 'forget-client', {client_id: clientId})
  if (forgotten !== true) throw new Error(`the sign-in service did not know client ${clientId}`)
}

/** Whether the sign-in service holds a token live, asked as Synapse asks (RFC 7662 with MAS's Bearer secret). */
export async function introspect(stack: ProvidedMasStack, token: string): Promise<{active: boolean; username?: string; scope?: string}> {
  const res = await fetch(`${stack.issuer}/oauth2/introspect`, {
    method: 'POST',
    headers: {Authorization: `Bearer ${stack.secret}`, 'Content-Type': 'application/x-www-form-urlencoded'},
    body: new URLSearchParams({token}).toString(),
  })
  if (!res.ok) throw new Error(`introspection: ${res.status} ${await res.text()}`)
  return (await res.json()) as {active: boolean}
}

export interface DeviceRow {
  device_id: string
  display_name: string | null
}

/** The user's devices as Synapse's own database has them, read with the Python that runs Synapse. */
export function synapseDevices(stack: ProvidedMasStack, userId: string): DeviceRow[] {
  const script = [
    'import json, sqlite3, sys',
    'db = sqlite3.connect(sys.argv[1])',
    'rows = db.execute("SELECT device_id, display_name FROM devices WHERE user_id = ? AND NOT hidden ORDER BY device_id", (sys.argv[2],)).fetchall()',
    'print(json.dumps([{"device_id": r[0], "display_name": r[1]} for r in rows]))',
  ].join('\n')
  return JSON.parse(execFileSync(join(synapseVenvDir(), 'bin', 'python'), ['-c', script, stack.database, userId], {encoding: 'utf8'})) as DeviceRow[]
}
