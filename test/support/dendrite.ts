// A real Dendrite homeserver for integration tests: the second implementation mxtok is checked
// against, built by scripts/test-deps.sh into the same cache as the Synapse virtualenv.
import type {ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {exited, refuseInUnitTests, terminate} from './child-process.js'
import {freePort, pinnedVersion, runToCompletion, spawnServer, synapseVenvDir} from './synapse.js'

export interface DendriteServer {
  baseUrl: string
  serverName: string
  registrationSecret: string
  dir: string
  /** How long the process took from spawn to its first answer of /versions. */
  startMs: number
  stop(): Promise<void>
}

const SERVER_NAME = 'localhost'
const READY_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 10_000

/**
 * Dendrite limits each device of an account (and each connection, before login) to `threshold`
 * requests per `cooloff`. High enough for every test's own traffic, low enough that a test can
 * provoke a real 429 with a burst on one device; the cool-off outlasts the start of an mxtok
 * process, so that its first request lands while the burst still holds every slot.
 */
export const DENDRITE_RATE_LIMIT = {threshold: 40, cooloffMs: 3000}

export const dendriteVersion = () => pinnedVersion('DENDRITE')

/** Beside the Synapse virtualenv, by the same rule as scripts/test-deps.sh (DENDRITE_DIR). */
export function dendriteDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(synapseVenvDir(env)), `dendrite-${dendriteVersion()}`)
}

function dendriteBin(): string {
  const dir = dendriteDir()
  if (!existsSync(join(dir, 'bin', 'dendrite')) || !existsSync(join(dir, '.mxtok-complete'))) {
    throw new Error(`Dendrite ${dendriteVersion()} is not built at ${dir}: run \`bash scripts/test-deps.sh\` first (it needs Go and a C compiler)`)
  }
  return join(dir, 'bin')
}

/**
 * The whole configuration, as JSON (which is YAML). Dendrite fills in its defaults before reading
 * it, so only what differs is here. SQLite needs one file per component: a shared one fails at
 * start ("near SEQUENCE: syntax error").
 */
function dendriteConfig(dir: string, registrationSecret: string, federation: boolean): Record<string, unknown> {
  const db = (name: string) => ({connection_string: `file:${join(dir, `${name}.db`)}`})
  return {
    version: 2,
    global: {
      server_name: SERVER_NAME,
      private_key: join(dir, 'matrix_key.pem'),
      // On unless asked otherwise, as on most servers: its version endpoint is where Dendrite names
      // itself, which spares create two requests (src/core/one-token-devices.ts). Nothing here federates.
      disable_federation: !federation,
      jetstream: {in_memory: true, storage_path: join(dir, 'jetstream')},
      report_stats: {enabled: false},
      presence: {enable_inbound: false, enable_outbound: false},
    },
    client_api: {
      registration_disabled: true,
      registration_shared_secret: registrationSecret,
      rate_limiting: {enabled: true, threshold: DENDRITE_RATE_LIMIT.threshold, cooloff_ms: DENDRITE_RATE_LIMIT.cooloffMs},
    },
    // Without this it asks matrix.org for keys.
    federation_api: {key_perspectives: [], database: db('federationapi')},
    key_server: {database: db('keyserver')},
    mscs: {database: db('mscs')},
    relay_api: {database: db('relayapi')},
    room_server: {database: db('roomserver')},
    media_api: {base_path: join(dir, 'media'), database: db('mediaapi')},
    sync_api: {search: {enabled: false, index_path: join(dir, 'searchindex')}, database: db('syncapi')},
    // The default cost makes each login and registration take a noticeable fraction of a second.
    user_api: {bcrypt_cost: 4, account_database: db('userapi')},
    logging: [{type: 'file', level: 'warn', params: {path: join(dir, 'log')}}],
  }
}

async function waitForVersions(baseUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`Dendrite exited during start-up (${child.signalCode ?? `exit ${child.exitCode}`})`)
    try {
      const res = await fetch(`${baseUrl}/_matrix/client/versions`, {signal: AbortSignal.timeout(2000)})
      if (res.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`Dendrite did not answer GET /_matrix/client/versions within ${timeoutMs / 1000} s`)
}

/**
 * Starts a fresh Dendrite named "localhost" on 127.0.0.1 and a free port, in a temporary directory;
 * with `federation: false`, one that serves no federation API, and so does not name itself.
 */
export async function startDendrite(opts: {federation?: boolean} = {}): Promise<DendriteServer> {
  refuseInUnitTests('Dendrite')
  const bin = dendriteBin()
  const dir = await mkdtemp(join(tmpdir(), 'mxtok-dendrite-'))
  let child: ChildProcess | undefined
  try {
    await runToCompletion(join(bin, 'generate-keys'), ['--private-key', join(dir, 'matrix_key.pem')], dir)
    await mkdir(join(dir, 'media'))
    const registrationSecret = randomBytes(24).toString('base64url')
    const configPath = join(dir, 'dendrite.yaml')
    await writeFile(configPath, `${JSON.stringify(dendriteConfig(dir, registrationSecret, opts.federation ?? true), null, 2)}\n`, {mode: 0o600})

    const port = await freePort()
    const baseUrl = `http://127.0.0.1:${port}`
    const started = performance.now()
    const {server, output, spawnFailed} = spawnServer(join(bin, 'dendrite'), ['--config', configPath, '--http-bind-address', `127.0.0.1:${port}`], {cwd: dir})
    child = server
    try {
      await Promise.race([waitForVersions(baseUrl, server, READY_TIMEOUT_MS), spawnFailed])
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- output ---\n${output}`)
    }
    const startMs = Math.round(performance.now() - started)

    let stopped: Promise<void> | undefined
    return {
      baseUrl,
      serverName: SERVER_NAME,
      registrationSecret,
      dir,
      startMs,
      stop() {
        stopped ??= (async () => {
          await terminate(server, STOP_GRACE_MS)
          await rm(dir, {recursive: true, force: true})
        })()
        return stopped
      },
    }
  } catch (err) {
    if (child) await terminate(child, STOP_GRACE_MS)
    await rm(dir, {recursive: true, force: true})
    throw err
  }
}
