// A real Synapse homeserver for integration tests, run from the virtualenv that
// scripts/test-deps.sh installs.
import {type ChildProcess, spawn} from 'node:child_process'
import {createHmac} from 'node:crypto'
import {existsSync, readFileSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer} from 'node:net'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {exited, killOnExit, refuseInUnitTests, terminate} from './child-process.js'

export interface SynapseServer {
  baseUrl: string
  serverName: string
  registrationSecret: string
  dir: string
  stop(): Promise<void>
}

/** What registerUser needs: plain data, so it survives being passed from globalSetup to a worker. */
export interface RegistrationTarget {
  baseUrl: string
  registrationSecret: string
}

export interface LoginResponse {
  access_token: string
  device_id: string
  user_id: string
}

export interface RawResponse {
  status: number
  body: unknown
}

const SERVER_NAME = 'localhost'
const HEALTH_TIMEOUT_MS = 120_000
const STOP_GRACE_MS = 10_000
const OUTPUT_KEEP_CHARS = 16_000
const TEST_DEPS_SCRIPT = fileURLToPath(new URL('../../scripts/test-deps.sh', import.meta.url))

/** Pinned versions live in one place, scripts/test-deps.sh (`NAME_VERSION=x.y.z`), so the two can never disagree. */
export function pinnedVersion(name: 'SYNAPSE' | 'DENDRITE' | 'MAS' | 'OPENBAO'): string {
  const script = readFileSync(TEST_DEPS_SCRIPT, 'utf8')
  const version = new RegExp(`^${name}_VERSION=([0-9][0-9A-Za-z.+-]*)\\s*$`, 'm').exec(script)?.[1]
  if (version === undefined) throw new Error(`no ${name}_VERSION=... line in ${TEST_DEPS_SCRIPT}`)
  return version
}

export const synapseVersion = () => pinnedVersion('SYNAPSE')

/**
 * Same rule as scripts/test-deps.sh:
 *   ${MXTOK_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mxtok-test}/synapse-<SYNAPSE_VERSION>
 * An empty variable counts as unset, as with bash's ":-".
 */
export function synapseVenvDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.MXTOK_TEST_CACHE || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'mxtok-test')
  return join(cache, `synapse-${synapseVersion()}`)
}

function synapsePython(): string {
  const venv = synapseVenvDir()
  const python = join(venv, 'bin', 'python')
  // The marker is what test-deps.sh writes last; without it the install was interrupted.
  if (!existsSync(python) || !existsSync(join(venv, '.mxtok-complete'))) {
    throw new Error(`Synapse is not installed at ${venv}: run \`bash scripts/test-deps.sh\` first`)
  }
  return python
}

// Binding to port 0 and releasing it leaves a small window in which another process could take
// the port; Synapse then fails to start and the error says so, which is rare enough to accept.
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('could not read the port of a probe socket'))
        return
      }
      server.close(() => resolve(address.port))
    })
  })
}

/** Keeps only the end of a stream: enough to explain a failure, bounded for a long-running server. */
export class OutputTail {
  private text = ''
  append(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-OUTPUT_KEEP_CHARS)
  }
  toString(): string {
    return this.text
  }
}

/**
 * A homeserver process of a test run: its output kept for explaining a failure, killed if the test
 * process exits, and a promise that rejects if it could not be started at all.
 */
export function spawnServer(
  command: string,
  args: string[],
  opts: {cwd: string; env?: NodeJS.ProcessEnv},
): {server: ChildProcess; output: OutputTail; spawnFailed: Promise<never>} {
  const output = new OutputTail()
  const server = spawn(command, args, {cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env})
  killOnExit(server)
  server.stdout?.on('data', (c) => output.append(c))
  server.stderr?.on('data', (c) => output.append(c))
  return {server, output, spawnFailed: new Promise<never>((_, reject) => server.once('error', reject))}
}

export function runToCompletion(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {cwd, stdio: ['ignore', 'pipe', 'pipe']})
    const output = new OutputTail()
    child.stdout.on('data', (c) => output.append(c))
    child.stderr.on('data', (c) => output.append(c))
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (code === 0) resolve()
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${output}`))
    })
  })
}

// Generated values are double-quoted YAML scalars drawn from letters, digits and punctuation
// without quotes or backslashes, so a JSON string parse reads them exactly.
function readGeneratedValue(yaml: string, key: string): string {
  const quoted = new RegExp(`^${key}:\\s*("(?:[^"\\\\]|\\\\.)*")\\s*$`, 'm').exec(yaml)?.[1]
  if (quoted === undefined) throw new Error(`generated homeserver.yaml has no ${key}`)
  return JSON.parse(quoted) as string
}

/**
 * Synapse's own default login limits, which matrix-docker-ansible-deploy keeps (its
 * matrix_synapse_rc_login): per address and per account, a burst of 3, then one login every 6 s.
 */
export const PLAYBOOK_LOGIN_LIMIT = {per_second: 0.17, burst_count: 3}

/** Per account: after `burst_count` wrong passwords, even the right one gets 429 for a while. */
export const FAILED_LOGIN_LIMIT = {per_second: 0.25, burst_count: 3}

function highRateLimit() {
  return {per_second: 1000, burst_count: 1000}
}

/** Synapse in its MAS mode: logins, devices and token checks all delegated to this sign-in service. */
export interface MasDelegation {
  endpoint: string
  secret: string
}

/** Login limits per address and per account, in place of the tests' relaxed ones. */
export interface LoginLimits {
  address: {per_second: number; burst_count: number}
  account: {per_second: number; burst_count: number}
}

function homeserverConfig(
  dir: string,
  port: number,
  generated: string,
  mas?: MasDelegation,
  tokenLifetime?: string,
  loginLimits?: LoginLimits,
): Record<string, unknown> {
  return {
    server_name: SERVER_NAME,
    pid_file: join(dir, 'homeserver.pid'),
    listeners: [
      {
        port,
        bind_addresses: ['127.0.0.1'],
        type: 'http',
        tls: false,
        x_forwarded: false,
        resources: [{names: ['client'], compress: false}],
      },
    ],
    database: {name: 'sqlite3', args: {database: join(dir, 'homeserver.db')}},
    log_config: join(dir, 'log.config'),
    media_store_path: join(dir, 'media_store'),
    signing_key_path: readGeneratedValue(generated, 'signing_key_path'),
    registration_shared_secret: readGeneratedValue(generated, 'registration_shared_secret'),
    macaroon_secret_key: readGeneratedValue(generated, 'macaroon_secret_key'),
    form_secret: readGeneratedValue(generated, 'form_secret'),
    report_stats: false,
    enable_registration: false,
    // bcrypt's default cost makes every registration and login take a noticeable fraction of a second.
    bcrypt_rounds: 4,
    trusted_key_servers: [],
    suppress_key_server_warning: true,
    // Synapse's defaults answer 429 from the sixth login of one address onwards. Failed logins
    // stay limited per account, as by default, but recover sooner (default 0.17/s): three wrong
    // passwords in a row give that account a real 429 for up to 4 s, which a test relies on.
    rc_login: {address: highRateLimit(), account: highRateLimit(), ...loginLimits, failed_attempts: FAILED_LOGIN_LIMIT},
    rc_registration: highRateLimit(),
    rc_message: highRateLimit(),
    rc_admin_redaction: highRateLimit(),
    rc_joins: {local: highRateLimit(), remote: highRateLimit()},
    rc_3pid_validation: highRateLimit(),
    // Synapse refuses to start in MAS mode while password logins are on.
    // A server that expires every access token, those of a client that asks for no refresh token too.
    ...(tokenLifetime ? {nonrefreshable_access_token_lifetime: tokenLifetime, refreshable_access_token_lifetime: tokenLifetime} : {}),
    ...(mas ? {matrix_authentication_service: {enabled: true, endpoint: mas.endpoint, secret: mas.secret}, password_config: {enabled: false}} : {}),
  }
}

function logConfig(dir: string): Record<string, unknown> {
  return {
    version: 1,
    formatters: {plain: {format: '%(asctime)s - %(name)s - %(levelname)s - %(message)s'}},
    handlers: {
      file: {class: 'logging.FileHandler', formatter: 'plain', filename: join(dir, 'homeserver.log'), encoding: 'utf8'},
    },
    root: {level: 'WARNING', handlers: ['file']},
    disable_existing_loggers: false,
  }
}

// JSON is valid YAML, and writing it avoids hand-rolled YAML quoting of paths and secrets.
function asYaml(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`
}

async function logTail(dir: string): Promise<string> {
  try {
    return (await readFile(join(dir, 'homeserver.log'), 'utf8')).slice(-OUTPUT_KEEP_CHARS)
  } catch {
    return '(no homeserver.log)'
  }
}

async function waitForHealth(baseUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`Synapse exited during start-up (${child.signalCode ?? `exit ${child.exitCode}`})`)
    try {
      const res = await fetch(`${baseUrl}/health`, {signal: AbortSignal.timeout(2000)})
      if (res.ok && (await res.text()).trim() === 'OK') return
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`Synapse did not answer GET /health with OK within ${timeoutMs / 1000} s`)
}

/**
 * Starts a fresh homeserver named "localhost" on 127.0.0.1 and a free port.
 * With `dir`, that directory holds config, database and logs and is kept after stop();
 * otherwise a new temporary directory is used and removed by stop(). With `mas`, it runs in its
 * MAS mode in front of that sign-in service. With `loginLimits`, logins are limited as they say
 * (the tests' own are relaxed). With `tokenLifetime` (Synapse's duration, e.g. "4s"), every access
 * token it hands out expires after that long. With `port`, it listens there: for a service that must
 * be configured with its URL before it starts.
 */
export async function startSynapse(
  opts: {dir?: string; mas?: MasDelegation; tokenLifetime?: string; loginLimits?: LoginLimits; port?: number} = {},
): Promise<SynapseServer> {
  refuseInUnitTests('Synapse')
  const python = synapsePython()
  const ownDir = opts.dir === undefined
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'mxtok-synapse-')))
  await mkdir(dir, {recursive: true})

  let child: ChildProcess | undefined
  try {
    const configPath = join(dir, 'homeserver.yaml')
    const generatedPath = join(dir, 'generated.yaml')
    // Generation provides the signing key and fresh secrets; everything else is ours, written as
    // one complete file because appending to YAML would create duplicate keys.
    await runToCompletion(
      python,
      [
        '-m',
        'synapse.app.homeserver',
        '--server-name',
        SERVER_NAME,
        '--config-path',
        generatedPath,
        '--data-directory',
        dir,
        '--generate-config',
        '--report-stats=no',
      ],
      dir,
    )
    const generated = await readFile(generatedPath, 'utf8')
    const port = opts.port ?? (await freePort())
    const config = homeserverConfig(dir, port, generated, opts.mas, opts.tokenLifetime, opts.loginLimits)
    await writeFile(join(dir, 'log.config'), asYaml(logConfig(dir)))
    await writeFile(configPath, asYaml(config), {mode: 0o600})

    const baseUrl = `http://127.0.0.1:${port}`
    const {server, output, spawnFailed} = spawnServer(python, ['-m', 'synapse.app.homeserver', '-c', configPath], {
      cwd: dir,
      env: {...process.env, PYTHONUNBUFFERED: '1'},
    })
    child = server

    try {
      await Promise.race([waitForHealth(baseUrl, server, HEALTH_TIMEOUT_MS), spawnFailed])
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- output ---\n${output}\n--- homeserver.log ---\n${await logTail(dir)}`)
    }

    let stopped: Promise<void> | undefined
    return {
      baseUrl,
      serverName: SERVER_NAME,
      registrationSecret: config.registration_shared_secret as string,
      dir,
      stop() {
        stopped ??= (async () => {
          await terminate(server, STOP_GRACE_MS)
          if (ownDir) await rm(dir, {recursive: true, force: true})
        })()
        return stopped
      },
    }
  } catch (err) {
    if (child) await terminate(child, STOP_GRACE_MS)
    if (ownDir) await rm(dir, {recursive: true, force: true})
    throw err
  }
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text()
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** Creates an account through the shared-secret admin API and returns its full user id. */
export async function registerUser(server: RegistrationTarget, localpart: string, password: string, admin = false): Promise<string> {
  const url = `${server.baseUrl}/_synapse/admin/v1/register`
  const nonceRes = await fetch(url)
  const nonceBody = (await readBody(nonceRes)) as {nonce?: string}
  if (!nonceRes.ok || typeof nonceBody.nonce !== 'string') {
    throw new Error(`GET ${url}: ${nonceRes.status} ${JSON.stringify(nonceBody)}`)
  }
  const mac = createHmac('sha1', server.registrationSecret)
    .update(`${nonceBody.nonce}\0${localpart}\0${password}\0${admin ? 'admin' : 'notadmin'}`)
    .digest('hex')
  const res = await fetch(url, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({nonce: nonceBody.nonce, username: localpart, password, admin, mac}),
  })
  const body = (await readBody(res)) as {user_id?: string}
  if (!res.ok || typeof body.user_id !== 'string') {
    throw new Error(`POST ${url} for ${localpart}: ${res.status} ${JSON.stringify(body)}`)
  }
  return body.user_id
}

/** Password login straight against the server, to set up or check state without mxtok. */
export async function rawLogin(baseUrl: string, userId: string, password: string, deviceId?: string): Promise<LoginResponse> {
  const res = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({
      type: 'm.login.password',
      identifier: {type: 'm.id.user', user: userId},
      password,
      ...(deviceId === undefined ? {} : {device_id: deviceId}),
    }),
  })
  const body = (await readBody(res)) as Partial<LoginResponse>
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new Error(`login as ${userId}: ${res.status} ${JSON.stringify(body)}`)
  }
  return {access_token: body.access_token, device_id: body.device_id as string, user_id: body.user_id as string}
}

/** Whether a token is alive, as the server sees it: 200 with the owner, or 401 M_UNKNOWN_TOKEN. */
export async function rawWhoami(baseUrl: string, token: string): Promise<RawResponse> {
  const res = await fetch(`${baseUrl}/_matrix/client/v3/account/whoami`, {
    headers: {Authorization: `Bearer ${token}`},
  })
  return {status: res.status, body: await readBody(res)}
}

/** Ends a token (and, on Synapse, deletes its device) without going through mxtok. */
export async function rawLogout(baseUrl: string, token: string): Promise<RawResponse> {
  const res = await fetch(`${baseUrl}/_matrix/client/v3/logout`, {
    method: 'POST',
    headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'},
    body: '{}',
  })
  return {status: res.status, body: await readBody(res)}
}
