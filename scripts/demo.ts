// A tour on a throwaway local Synapse and a private keyring: create → list → verify → token → revoke,
// printing what mxtok really prints. Everything it starts is stopped and removed at the end.
import {spawnSync} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {startKeyring} from '../test/support/keyring.js'
import {rawLogin, registerUser, startSynapse} from '../test/support/synapse.js'

const bin = resolve(import.meta.dirname, '../bin/run.cjs')
const password = 'demo-password-not-secret'

const [keyring, synapse] = await Promise.all([startKeyring(), startSynapse()])
const configDir = mkdtempSync(join(tmpdir(), 'mxtok-demo-'))
const env = {PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: configDir, MXTOK_CONFIG_DIR: configDir, ...keyring.env}

function mxtok(args: string[], opts: {input?: string; show?: string; quiet?: boolean} = {}): string {
  process.stdout.write(`\n$ ${opts.show ?? `mxtok ${args.join(' ')}`}\n`)
  const r = spawnSync(process.execPath, [bin, ...args], {env, input: opts.input ?? '', encoding: 'utf8'})
  process.stdout.write(opts.quiet ? `${r.stdout.length}\n` : r.stdout.replace(/\n?$/, '\n'))
  if (r.stderr) process.stdout.write(r.stderr.replace(/\n?$/, '\n'))
  process.stdout.write(`(exit ${r.status})\n`)
  return r.stdout
}

try {
  const user = await registerUser(synapse, 'demo', password)
  // A device from the old way of getting a token, for list to show beside the sessions.
  await rawLogin(synapse.baseUrl, user, password, 'CURLLOGIN')
  console.log(`Synapse is running at ${synapse.baseUrl}; user ${user} registered.`)

  const create = ['create', 'bot', '--user', user, '--homeserver', synapse.baseUrl, '--password-stdin']
  mxtok(create, {input: `${password}\n`, show: `echo "$PASSWORD" | mxtok ${create.join(' ')}`})
  mxtok(['create', 'bridge', '--user', user, '--homeserver', synapse.baseUrl, '--password-stdin', '--json'], {input: `${password}\n`})
  mxtok(['list'])
  mxtok(['verify'])
  const token = mxtok(['token', 'bot'], {show: 'mxtok token bot | wc -c    # the token itself stays out of this transcript', quiet: true}).trim()
  const who = await fetch(`${synapse.baseUrl}/_matrix/client/v3/account/whoami`, {headers: {authorization: `Bearer ${token}`}})
  console.log(`\n$ curl -H "Authorization: Bearer $(mxtok token bot)" ${synapse.baseUrl}/_matrix/client/v3/account/whoami\n${await who.text()}`)
  mxtok(['revoke', 'bot'])
  mxtok(['list'])
} finally {
  await Promise.allSettled([synapse.stop(), keyring.stop()])
  rmSync(configDir, {recursive: true, force: true})
}
