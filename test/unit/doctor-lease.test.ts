import {describe, expect, it} from 'vitest'
import {doctor} from '../../src/cli/actions/doctor.js'
import {deriveDeviceId} from '../../src/matrix/device-id.js'
import type {PendingLogin} from '../../src/registry/session.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {testIo} from '../support/test-io.js'
import {unitDeps} from '../support/unit-deps.js'

const USER = '@bot:hs.example'
const DEVICE = deriveDeviceId(USER, 'bot')
const HS = 'https://hs.example'
const entry = (until: string): PendingLogin => ({
  name: 'bot',
  userId: USER,
  deviceId: DEVICE,
  homeserver: HS,
  store: 'keychain',
  since: '2026-01-02T03:00:00.000Z',
  by: 'ann@other-host',
  pid: 17,
  until,
  auth: 'password',
})

async function doctorOf(p: PendingLogin, fix: boolean) {
  const deps = unitDeps()
  await deps.registry.update((_, pending) => void pending.set(secretAccount(USER, DEVICE), p))
  const {io, stdout} = testIo(deps)
  const outcome = await doctor({flags: {store: 'keychain', fix}}, io)
  const lines = stdout()
    .split('\n')
    .filter((l) => /^(info|WARN|fixed) (create|login|interrupted)/.test(l))
  return {outcome, lines, pending: await deps.registry.pending()}
}

describe('mxtok doctor with a login whose journal entry another run holds', () => {
  it('shows it in progress, by whom and until when, not interrupted; --fix leaves it', async () => {
    const held = entry('2026-01-02T03:10:00.000Z')
    for (const fix of [false, true]) {
      const {outcome, lines, pending} = await doctorOf(held, fix)
      expect(lines).toEqual([
        `info create of session "bot" of ${USER} device ${DEVICE} in progress (ann@other-host pid 17, since 2026-01-02T03:00:00.000Z, until 2026-01-02T03:10:00.000Z)`,
      ])
      expect(outcome.result?.orphans).toEqual([
        {
          kind: 'login',
          name: 'bot',
          userId: USER,
          deviceId: DEVICE,
          store: 'keychain',
          homeserver: HS,
          inProgress: {by: 'ann@other-host pid 17', since: held.since, until: held.until},
          fixed: false,
        },
      ])
      expect(pending).toEqual([held])
      expect(outcome.exitCode).toBe(0)
    }
  })

  it('reports it interrupted once its lease ran out', async () => {
    const {lines} = await doctorOf(entry('2026-01-02T03:04:00.000Z'), false)
    expect(lines).toEqual([expect.stringMatching(/^WARN create of session "bot" was interrupted: /)])
  })
})
