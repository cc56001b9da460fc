import {describe, expect, it} from 'vitest'
import {createAgainCommand} from '../../src/core/create-advice.js'
import {probeDeviceId} from '../../src/core/probe-device.js'
import {deriveDeviceId} from '../../src/matrix/device-id.js'

const pending = {
  name: 'bot',
  userId: '@bot:example.org',
  homeserver: 'https://matrix.example.org',
  store: 'keychain' as const,
  since: '2026-01-02T03:04:05.000Z',
}

describe('createAgainCommand', () => {
  it('spells out only what the interrupted run needed to reach the same device', () => {
    expect(createAgainCommand({...pending, deviceId: deriveDeviceId(pending.userId, 'bot')})).toBe(
      'mxtok create bot --user @bot:example.org --homeserver https://matrix.example.org',
    )
  })

  it('keeps a chosen device ID, the file store and plain http to a remote host', () => {
    expect(createAgainCommand({...pending, deviceId: 'BRIDGE', homeserver: 'http://10.0.0.5:8008', store: 'file'})).toBe(
      'mxtok create bot --user @bot:example.org --homeserver http://10.0.0.5:8008 --device-id BRIDGE --allow-http --store file',
    )
  })

  it('gives a localpart back as it was given, without the probe device create learnt the full ID on', () => {
    const homeserver = 'https://matrix.example.org'
    expect(createAgainCommand({...pending, userId: 'bot', deviceId: probeDeviceId('bot', homeserver, 'bot')})).toBe(
      'mxtok create bot --user bot --homeserver https://matrix.example.org',
    )
  })

  it('quotes a historical user ID so that the command can be pasted into a shell', () => {
    const userId = "@o'brien$x:example.org"
    expect(createAgainCommand({...pending, userId, deviceId: deriveDeviceId(userId, 'bot')})).toBe(
      `mxtok create bot --user '@o'\\''brien$x:example.org' --homeserver https://matrix.example.org`,
    )
  })
})
