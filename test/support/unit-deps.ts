import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {Deps} from '../../src/core/deps.js'
import {MatrixClient} from '../../src/matrix/client.js'
import {discoverHomeserver} from '../../src/matrix/discovery.js'
import {MasAdminClient} from '../../src/matrix/mas-admin-client.js'
import {OAuthClient} from '../../src/matrix/oauth-client.js'
import {SessionRegistry} from '../../src/registry/registry.js'
import {MemoryStore} from './memory-store.js'

export interface UnitDeps extends Deps {
  registry: SessionRegistry
  memory: MemoryStore
  warnings: string[]
  sleeps: number[]
}

/** Real client and registry (in a fresh temp dir), an in-memory store, and 429 waits recorded instead of slept. */
export function unitDeps(): UnitDeps {
  const memory = new MemoryStore()
  const warnings: string[] = []
  const sleeps: number[] = []
  const http = {timeoutMs: 2000, sleep: async (ms: number) => void sleeps.push(ms)}
  return {
    memory,
    warnings,
    sleeps,
    registry: new SessionRegistry(mkdtempSync(join(tmpdir(), 'mxtok-unit-'))),
    store: () => memory,
    client: (hs) => new MatrixClient(hs, http),
    oauth: (hs) => new OAuthClient(hs, http),
    masAdmin: (issuer, token) => new MasAdminClient(issuer, token, http),
    discover: (user) => discoverHomeserver(user, http),
    now: () => new Date('2026-01-02T03:04:05.000Z'),
    self: {by: 'tester@unit-host', pid: process.pid, requestMs: 2000},
    warn: (m) => void warnings.push(m),
  }
}
