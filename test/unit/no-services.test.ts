// Unit tests run in-process: no homeserver, no bus, no keyring. The harness refuses them here, so
// that a unit test that needs one fails at once instead of slowing every run down.
import {describe, expect, it} from 'vitest'
import {startKeyring} from '../support/keyring.js'
import {service} from '../support/services.js'
import {startSynapse} from '../support/synapse.js'

describe('a unit test', () => {
  it('gets no shared service', async () => {
    await expect(service('synapse')).rejects.toThrow(/a unit test may not use the test synapse; put the test in test\/integration/)
    await expect(service('keyringEnv')).rejects.toThrow(/a unit test may not use the test keyringEnv/)
  })

  it('cannot start a service of its own', async () => {
    await expect(startKeyring()).rejects.toThrow(/a unit test started a D-Bus bus: unit tests run in-process/)
    await expect(startSynapse()).rejects.toThrow(/a unit test started Synapse/)
  })
})
