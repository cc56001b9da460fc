// The benchmark measures sessions made by test/support/seed.ts rather than by `mxtok create`;
// that is only fair if mxtok sees them exactly as its own.
import {randomUUID} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {runCli, tempDir} from '../support/cli.js'
import {keepTokens, seedSessions, writeRegistry} from '../support/seed.js'
import {service} from '../support/services.js'
import {registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'seed-password-not-secret'

describe('seeded sessions', () => {
  it('are valid to verify and present to list, from either keyring collection', async () => {
    const tag = randomUUID().slice(0, 8)
    const accounts = await Promise.all(['a', 'b'].map(async (n) => ({userId: await registerUser(synapse, `seed${n}${tag}`, PASSWORD), password: PASSWORD})))
    const onDisk = await seedSessions(synapse.baseUrl, accounts, 2, {prefix: `disk${tag}`})
    const inMemory = await seedSessions(synapse.baseUrl, accounts, 1, {prefix: `mem${tag}`})
    await keepTokens(keyringEnv, onDisk.tokens)
    await keepTokens(keyringEnv, inMemory.tokens, {collection: 'session'})
    const dir = await writeRegistry(tempDir('mxtok-seed-'), [...onDisk.sessions, ...inMemory.sessions])
    const env = {...keyringEnv, HOME: dir, MXTOK_CONFIG_DIR: dir}

    const verify = await runCli(['verify', '--json'], {env})
    expect(verify.code, verify.stderr).toBe(0)
    const results = JSON.parse(verify.stdout) as {status: string}[]
    expect(results.map((r) => r.status)).toEqual(Array(6).fill('valid'))

    const list = await runCli(['list', '--json'], {env})
    expect(list.code, list.stderr).toBe(0)
    const listed = JSON.parse(list.stdout) as {sessions: {onServer: boolean}[]; devices: {orphan: boolean}[]}
    expect(listed.sessions.map((s) => s.onServer)).toEqual(Array(6).fill(true))
    // Registration leaves a device of its own per account; no seeded device may look orphaned.
    expect(listed.devices.map((d) => d.orphan)).toEqual([false, false])
  })
})
