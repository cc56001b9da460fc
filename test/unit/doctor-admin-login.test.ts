import {describe, expect, it} from 'vitest'
import {doctor} from '../../src/cli/actions/doctor.js'
import type {AdminLoginKey} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {testIo} from '../support/test-io.js'
import {unitDeps} from '../support/unit-deps.js'

const USER = '@bot:hs.example'
const DEVICE = 'ADMINABCDEFGHIJKL'
const HS = 'https://hs.example'

describe('mxtok doctor with an admin login that was interrupted', () => {
  it('says the token has no device, when it ends, and which create makes a new one — not a password create on a device that does not exist', async () => {
    const deps = unitDeps()
    await deps.registry.update((_, pending) => {
      pending.set(secretAccount(USER, DEVICE), {
        name: 'bot',
        userId: USER,
        deviceId: DEVICE as AdminLoginKey,
        homeserver: HS,
        store: 'keychain',
        since: '2026-01-01T00:00:00.000Z',
        auth: 'admin',
        admin: {by: '@admin:hs.example', session: 'boss', expiresAt: '2026-01-31T00:00:00.000Z'},
      })
    })
    const {io, stdout} = testIo(deps)
    const outcome = await doctor({flags: {store: 'keychain'}}, io)
    const warning = stdout()
      .split('\n')
      .find((l) => l.startsWith('WARN'))
    expect(warning).toBe(
      'WARN admin login of session "bot" was interrupted: a token of @bot:hs.example on no device may exist that nobody holds; it ends by itself at 2026-01-31T00:00:00.000Z, or when @admin:hs.example logs out everywhere; run "mxtok create bot --user @bot:hs.example --as boss" for a new one',
    )
    expect(warning).not.toContain('--device-id')
    expect(outcome.exitCode).toBe(0)
  })
})
