// The OpenBao/Vault client against a real three-node OpenBao cluster (integrated storage, Raft):
// the leader killed while writes run, and a sealed node.
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {VaultClient} from '../../src/vault/client.js'
import {VaultError} from '../../src/vault/errors.js'
import {KvV2} from '../../src/vault/kv.js'
import {baoApi, type RaftCluster, type RaftNode, startRaftCluster} from '../support/openbao.js'

let cluster: RaftCluster

beforeAll(async () => {
  cluster = await startRaftCluster()
  process.stderr.write(`OpenBao three-node Raft cluster ready in ${(cluster.startMs / 1000).toFixed(1)} s\n`)
})

afterAll(async () => {
  await cluster?.stop()
})

/** The bound the commands use: a request may be retried for this long before it fails. */
const RETRY_FOR_MS = 30_000

function clientOf(node: RaftNode, lines: string[], retryForMs = RETRY_FOR_MS): VaultClient {
  return new VaultClient({settings: {address: new URL(node.address)}, retryForMs, debug: (l) => lines.push(l)}, cluster.rootToken, 'BAO_TOKEN')
}

describe('a three-node OpenBao cluster', () => {
  it('loses no write when its leader is killed during a loop of writes, and each lands once, within the bound', async () => {
    const leader = await cluster.leader()
    const [through] = await cluster.standbys()
    const lines: string[] = []
    const kv = new KvV2(clientOf(through, lines), 'secret')
    const WRITES = 60
    const slowest = {ms: 0}
    let killedAt = 0
    let electedMs = 0
    const started = performance.now()
    let kill: Promise<void> | undefined
    for (let i = 0; i < WRITES; i++) {
      if (i === 15) {
        killedAt = performance.now()
        kill = cluster.kill(leader).then(async () => {
          await cluster.leader()
          electedMs = performance.now() - killedAt
        })
      }
      const began = performance.now()
      // Each write creates a session of its own (cas 0) and moves one shared record on by one version.
      expect(await kv.write(`ha/sessions/s${String(i).padStart(2, '0')}`, {n: String(i)}, 0)).toBe(1)
      expect(await kv.write('ha/counter', {n: String(i + 1)}, i)).toBe(i + 1)
      expect(await kv.read('ha/counter')).toEqual({data: {n: String(i + 1)}, version: i + 1})
      slowest.ms = Math.max(slowest.ms, performance.now() - began)
    }
    await kill
    const totalMs = performance.now() - started
    const statuses: Record<string, number> = {}
    for (const line of lines) statuses[line.split(' ')[2]] = (statuses[line.split(' ')[2]] ?? 0) + 1
    process.stderr.write(
      `${WRITES * 2} writes through ${through.id} in ${(totalMs / 1000).toFixed(1)} s, the leader ${leader.id} killed after 30 of them; a new leader in ${(electedMs / 1000).toFixed(1)} s; slowest pair of writes ${(slowest.ms / 1000).toFixed(1)} s; answers ${JSON.stringify(statuses)}\n`,
    )
    expect(slowest.ms).toBeLessThan(RETRY_FOR_MS)

    // Checked from outside, on the new leader: every session once, the record at the last version.
    const now = await cluster.leader()
    const counter = await baoApi(now.address, cluster.rootToken, 'GET', 'secret/data/ha/counter')
    expect(counter.body?.data).toMatchObject({data: {n: String(WRITES)}, metadata: {version: WRITES}})
    const listed = await baoApi(now.address, cluster.rootToken, 'GET', 'secret/detailed-metadata/ha/sessions/?list=true')
    const info = (listed.body?.data as {key_info: Record<string, {current_version: number}>} | undefined)?.key_info ?? {}
    expect(Object.keys(info)).toHaveLength(WRITES)
    expect(Object.values(info).every((k) => k.current_version === 1)).toBe(true)
  })

  it('a sealed node is exit 9 and one line, once the bounded retries are spent', async () => {
    const leader = await cluster.leader()
    await cluster.seal(leader)
    const lines: string[] = []
    const kv = new KvV2(clientOf(leader, lines, 2000), 'secret')
    const started = performance.now()
    const error = await kv.read('ha/counter').then(
      () => expect.unreachable('a sealed node answered'),
      (e: unknown) => e as VaultError,
    )
    const ms = performance.now() - started
    expect(error).toBeInstanceOf(VaultError)
    expect(error.exitCode).toBe(9)
    expect(error.reason).toBe('sealed')
    expect(error.message).toMatch(/^OpenBao\/Vault at 127\.0\.0\.1:\d+ is sealed; unseal it \(bao operator unseal\) and run again \(tried for \d s\)$/)
    expect(ms).toBeGreaterThan(1000)
    // The bound, one more backoff and the last attempt, on a loaded machine.
    expect(ms).toBeLessThan(8000)
    expect(lines.length).toBeGreaterThan(2)

    // One node left unsealed has no quorum: no leader, the other reason with the same code.
    const [last, ...more] = cluster.nodes.filter((n) => n.running() && n !== leader)
    for (const node of more) await cluster.kill(node)
    const alone = await new KvV2(clientOf(last, [], 2000), 'secret').write('ha/alone', {n: 'x'}, 0).then(
      () => expect.unreachable('a node without quorum took a write'),
      (e: unknown) => e as VaultError,
    )
    expect(alone.exitCode).toBe(9)
    expect(['sealed', 'noLeader'], alone.message).toContain(alone.reason)
  })
})
