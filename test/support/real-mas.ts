// The real Matrix Authentication Service (MAS) for integration tests, deployed the way MAS is:
// PostgreSQL for its state, Synapse in its MAS mode, and nginx in front sending login, logout and
// refresh to MAS and everything else to Synapse; mxtok is pointed at nginx, as users are. Each on
// a free loopback port, all under one directory of the run's TMPDIR. Self-contained: whoever
// starts it (a test file's beforeAll, or a global set-up) stops it.
import {type ChildProcess, execFileSync} from 'node:child_process'
import {generateKeyPairSync, randomBytes} from 'node:crypto'
import {chmodSync, chownSync, existsSync, readdirSync, statSync} from 'node:fs'
import {chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {exited, terminate} from './child-process.js'
import {freePort, type OutputTail, pinnedVersion, runToCompletion, spawnServer, startSynapse, synapseVenvDir} from './synapse.js'

/** What tests need of the stack: plain data, so that it can cross into worker processes. */
export interface ProvidedRealMas {
  /** nginx: the homeserver URL mxtok is given. */
  baseUrl: string
  serverName: string
  /** MAS itself (issuer and public base), with its admin API under api/admin/v1. */
  masUrl: string
  synapseUrl: string
  /** mas-cli with this stack's configuration: the command and its first arguments. */
  masCli: string[]
  /** An operator's client that may call the admin API (client_credentials, scope urn:mas:admin). */
  adminClient: {id: string; secret: string}
}

export interface RealMas {
  provided: ProvidedRealMas
  /** Milliseconds each part took to start, and the whole (the parts overlap). */
  startMs: {postgres: number; synapse: number; mas: number; nginx: number; total: number}
  stop(): Promise<void>
}

const STOP_GRACE_MS = 10_000
const READY_TIMEOUT_MS = 120_000
// A fixed ULID: MAS wants client IDs of that form.
const ADMIN_CLIENT_ID = '01J44QC8BCY7FCFM7WGHQGKMTJ'
// The name startSynapse gives its server; MAS is configured with it before Synapse has started.
const SERVER_NAME = 'localhost'

/** Same rule as scripts/test-deps.sh (MAS_DIR): beside the Synapse virtualenv, bin/mas-cli and share/. */
export function masDir(): string {
  return join(synapseVenvDir(), '..', `mas-${pinnedVersion('MAS')}`)
}

function masInstall(): {cli: string; share: string} {
  const dir = masDir()
  const cli = join(dir, 'bin', 'mas-cli')
  if (!existsSync(cli) || !existsSync(join(dir, '.mxtok-complete'))) {
    throw new Error(`MAS is not installed at ${dir}: run \`bash scripts/test-deps.sh\` (it unpacks the kept build, or builds MAS from MXTOK_MAS_SOURCE)`)
  }
  return {cli, share: join(dir, 'share')}
}

/** Debian keeps PostgreSQL's server commands in a versioned directory off PATH. */
function postgresBin(): string {
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : []
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (newest === undefined) throw new Error(`no PostgreSQL server in ${root}: run \`bash scripts/test-deps.sh\` as root (Debian's postgresql)`)
  return join(root, newest, 'bin')
}

async function waitFor(what: string, child: ChildProcess, output: OutputTail, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`${what} exited during start-up (${child.signalCode ?? `exit ${child.exitCode}`}):\n${output}`)
    if (await ready().catch(() => false)) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${what} was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${output}`)
}

const answers = async (url: string) => (await fetch(url, {signal: AbortSignal.timeout(2000)})).ok

interface Running {
  stop(): Promise<void>
}

/**
 * PostgreSQL refuses to run as root, so it runs as the postgres user: trust authentication, TCP on
 * 127.0.0.1 only, its socket in its own directory. That user must be able to reach the directory,
 * so the run's TMPDIR, if private, gets search permission for others (not listing), as does the
 * stack's directory; what is in them keeps its own mode.
 */
async function startPostgres(dir: string, port: number): Promise<Running> {
  const bin = postgresBin()
  const uid = Number(execFileSync('id', ['-u', 'postgres'], {encoding: 'utf8'}))
  const gid = Number(execFileSync('id', ['-g', 'postgres'], {encoding: 'utf8'}))
  const tmp = tmpdir()
  if ((statSync(tmp).mode & 0o001) === 0) chmodSync(tmp, statSync(tmp).mode | 0o001)
  await mkdir(dir, {recursive: true})
  chownSync(dir, uid, gid)
  const asPostgres = (command: string, ...args: string[]) => ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', join(bin, command), ...args]
  const data = join(dir, 'data')
  await runToCompletion('setpriv', asPostgres('initdb', '-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C'), dir)
  // A throwaway database: durability only costs time.
  const settings = ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off'].flatMap((s) => ['-c', s])
  const {server, output, spawnFailed} = spawnServer(
    'setpriv',
    asPostgres('postgres', '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, ...settings),
    {cwd: dir},
  )
  const stop = () => terminate(server, STOP_GRACE_MS)
  try {
    const isReady = () =>
      new Promise<boolean>((resolve) => {
        const probe = spawnServer(join(bin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)], {cwd: dir}).server
        probe.on('exit', (code) => resolve(code === 0))
      })
    await Promise.race([waitFor('PostgreSQL', server, output, isReady), spawnFailed])
    await runToCompletion(
      join(bin, 'psql'),
      ['-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', 'CREATE USER mas', '-c', 'CREATE DATABASE mas OWNER mas'],
      dir,
    )
  } catch (error) {
    await stop()
    throw error
  }
  return {stop}
}

/** Fresh signing keys and encryption secret, as `mas-cli config generate` makes them. */
function masSecrets() {
  const pem = {format: 'pem'} as const
  const rsa = generateKeyPairSync('rsa', {modulusLength: 2048, privateKeyEncoding: {type: 'pkcs1', ...pem}, publicKeyEncoding: {type: 'spki', ...pem}})
  const ec = generateKeyPairSync('ec', {namedCurve: 'prime256v1', privateKeyEncoding: {type: 'sec1', ...pem}, publicKeyEncoding: {type: 'spki', ...pem}})
  return {encryption: randomBytes(32).toString('hex'), keys: [{key: rsa.privateKey}, {key: ec.privateKey}]}
}

function masConfig(o: {
  share: string
  port: number
  healthPort: number
  pgPort: number
  synapseUrl: string
  serverName: string
  secret: string
  adminSecret: string
  accessTokenTtlS?: number
}) {
  const base = `http://127.0.0.1:${o.port}/`
  return {
    http: {
      listeners: [
        {
          name: 'web',
          resources: ['discovery', 'human', 'oauth', 'compat', 'graphql', 'adminapi']
            .map((name) => ({name}))
            .concat([{name: 'assets', path: join(o.share, 'frontend', 'dist')} as {name: string}]),
          binds: [{address: `127.0.0.1:${o.port}`}],
        },
        {name: 'internal', resources: [{name: 'health'}], binds: [{address: `127.0.0.1:${o.healthPort}`}]},
      ],
      trusted_proxies: ['127.0.0.1/8'],
      public_base: base,
      issuer: base,
    },
    database: {uri: `postgresql://mas@127.0.0.1:${o.pgPort}/mas`},
    secrets: masSecrets(),
    matrix: {kind: 'synapse', homeserver: o.serverName, endpoint: `${o.synapseUrl}/`, secret: o.secret},
    passwords: {enabled: true, minimum_complexity: 0, schemes: [{version: 1, algorithm: 'argon2id'}]},
    templates: {
      path: join(o.share, 'templates'),
      assets_manifest: join(o.share, 'frontend', 'dist', 'manifest.json'),
      translations_path: join(o.share, 'translations'),
    },
    policy: {wasm_module: join(o.share, 'policies', 'policy.wasm'), data: {admin_clients: [ADMIN_CLIENT_ID]}},
    clients: [{client_id: ADMIN_CLIENT_ID, client_auth_method: 'client_secret_basic', client_secret: o.adminSecret}],
    // MAS's default is 300 s; a test of what happens at expiry asks for less (60 at the least).
    ...(o.accessTokenTtlS === undefined ? {} : {experimental: {access_token_ttl: o.accessTokenTtlS}}),
    // The tests log in far more often than a person would.
    rate_limiting: {login: {per_ip: {burst: 1000, per_second: 1000}, per_account: {burst: 1000, per_second: 1000}}},
  }
}

/** nginx in the foreground, one process: it is ours for the run, and everything it touches is in `dir`. */
async function startNginx(dir: string, port: number, masUrl: string, synapseUrl: string): Promise<Running> {
  await mkdir(dir, {recursive: true})
  const proxy = (to: string) => `proxy_pass ${to}; proxy_set_header Host $http_host; proxy_set_header X-Forwarded-For $remote_addr;`
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${join(dir, t)};`).join(' ')
  const conf = `daemon off; master_process off; pid ${join(dir, 'nginx.pid')}; error_log ${join(dir, 'error.log')} warn;
events { worker_connections 256; }
http {
  access_log ${join(dir, 'access.log')}; ${temp}
  server {
    listen 127.0.0.1:${port};
    location ~ ^/_matrix/client/(.*)/(login|logout|refresh) { ${proxy(masUrl)} }
    location / { ${proxy(synapseUrl)} }
  }
}
`
  const confPath = join(dir, 'nginx.conf')
  await writeFile(confPath, conf)
  const {server, output, spawnFailed} = spawnServer('nginx', ['-e', join(dir, 'error.log'), '-p', dir, '-c', confPath], {cwd: dir})
  const stop = () => terminate(server, STOP_GRACE_MS)
  try {
    await Promise.race([waitFor('nginx', server, output, () => answers(`http://127.0.0.1:${port}/_matrix/client/versions`)), spawnFailed])
  } catch (error) {
    await stop()
    throw error
  }
  return {stop}
}

async function startMas(cli: string, dir: string, config: ReturnType<typeof masConfig>, healthPort: number): Promise<Running> {
  const configPath = join(dir, 'mas.json')
  // JSON is YAML, which is what MAS reads.
  await writeFile(configPath, JSON.stringify(config, null, 2), {mode: 0o600})
  // `server` applies the migrations and syncs the configured clients before it listens.
  const {server, output, spawnFailed} = spawnServer(cli, ['-c', configPath, 'server'], {cwd: dir, env: {...process.env, RUST_LOG: 'warn'}})
  const stop = () => terminate(server, STOP_GRACE_MS)
  try {
    await Promise.race([waitFor('MAS', server, output, () => answers(`http://127.0.0.1:${healthPort}/health`)), spawnFailed])
  } catch (error) {
    await stop()
    throw error
  }
  return {stop}
}

export interface RealMasOptions {
  /** How long OAuth access tokens live (experimental.access_token_ttl, 60 to 86,400 s; MAS's default 300). */
  accessTokenTtlS?: number
}

export async function startRealMas(opts: RealMasOptions = {}): Promise<RealMas> {
  const started = performance.now()
  const since = () => performance.now() - started
  const {cli, share} = masInstall()
  const dir = await mkdtemp(join(tmpdir(), 'mxtok-real-mas-'))
  // Searchable by the postgres user, on the way to PostgreSQL's own directory.
  await chmod(dir, 0o711)
  const running: Running[] = []
  const stopAll = async () => {
    // Clients first: PostgreSQL's default shutdown waits for MAS to let go.
    for (const r of running.reverse()) await r.stop()
    await rm(dir, {recursive: true, force: true})
  }
  try {
    const [pgPort, masPort, healthPort, synapsePort, proxyPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()])
    const masUrl = `http://127.0.0.1:${masPort}`
    const synapseUrl = `http://127.0.0.1:${synapsePort}`
    const secret = randomBytes(16).toString('hex')
    const adminSecret = randomBytes(16).toString('hex')
    const startMs = {postgres: 0, synapse: 0, mas: 0, nginx: 0, total: 0}
    // Each is configured with the other's URL and neither needs the other to start: Synapse in
    // parallel with PostgreSQL and then MAS.
    const synapse = startSynapse({dir: join(dir, 'synapse'), port: synapsePort, mas: {endpoint: `${masUrl}/`, secret}}).then((s) => {
      running.push(s)
      startMs.synapse = since()
      return s
    })
    const mas = (async () => {
      running.push(await startPostgres(join(dir, 'pg'), pgPort))
      startMs.postgres = since()
      running.push(
        await startMas(
          cli,
          dir,
          masConfig({share, port: masPort, healthPort, pgPort, synapseUrl, serverName: SERVER_NAME, secret, adminSecret, ...opts}),
          healthPort,
        ),
      )
      startMs.mas = since()
    })()
    // Both settle before going on, so that a failure of one stops whatever the other started.
    const [synapseStart, masStart] = await Promise.allSettled([synapse, mas])
    if (synapseStart.status === 'rejected') throw synapseStart.reason
    if (masStart.status === 'rejected') throw masStart.reason
    if (synapseStart.value.serverName !== SERVER_NAME) throw new Error(`Synapse is named ${synapseStart.value.serverName}, MAS was told ${SERVER_NAME}`)

    const nginx = await startNginx(join(dir, 'nginx'), proxyPort, masUrl, synapseUrl)
    running.push(nginx)
    startMs.nginx = since()
    startMs.total = since()

    let stopped: Promise<void> | undefined
    return {
      provided: {
        baseUrl: `http://127.0.0.1:${proxyPort}`,
        serverName: SERVER_NAME,
        masUrl,
        synapseUrl,
        masCli: [cli, '-c', join(dir, 'mas.json')],
        adminClient: {id: ADMIN_CLIENT_ID, secret: adminSecret},
      },
      startMs,
      stop() {
        stopped ??= stopAll()
        return stopped
      },
    }
  } catch (error) {
    await stopAll()
    throw error
  }
}
