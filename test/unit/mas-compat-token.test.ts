// A token made on a MAS deployment by `mas-cli manage issue-compatibility-token`: a compatibility
// session's access token (prefix mct_), bound to a device, with no refresh token and no expiry.
// The answers below are those of Synapse in its MAS mode and of MAS's compatibility layer, which
// serves /logout in a MAS deployment; a real MAS cannot be installed in the test set-up.
import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {getToken} from '../../src/core/get-token.js'
import {importSession} from '../../src/core/import-session.js'
import {revokeSession} from '../../src/core/revoke-session.js'
import {unitDeps} from '../support/unit-deps.js'

const HS = 'https://matrix.hs.example'
const USER = '@bot:hs.example'
const DEVICE = 'BOTBRIDGE'
const MCT = 'mct_q8V0m2Zr4BfX7kLs1PdW9yHaTcE3nJ_1b2c3d'
const WHOAMI = '/_matrix/client/v3/account/whoami'
const LOGOUT = '/_matrix/client/v3/logout'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

const imported = async () => {
  const deps = unitDeps()
  const scope = nock(HS).get(WHOAMI).matchHeader('authorization', `Bearer ${MCT}`).reply(200, {user_id: USER, device_id: DEVICE, is_guest: false})
  const session = await importSession({name: 'bot', token: async () => MCT, homeserver: HS}, deps)
  scope.done()
  return {deps, session}
}

describe('a MAS compatibility token (mct_)', () => {
  it('is imported under the device it is bound to, and kept as it is', async () => {
    const {deps, session} = await imported()
    expect(session).toMatchObject({name: 'bot', userId: USER, deviceId: DEVICE, homeserver: HS})
    // Kept like a password login's token, ended with /logout: not as an OAuth grant, which mxtok does not have for it.
    expect(session.auth).toBe('password')
    expect([...deps.memory.items]).toEqual([[`${USER}/${DEVICE}`, MCT]])
  })

  it('is handed out without any request: it has no refresh token and does not expire', async () => {
    const {deps} = await imported()
    // Network access is off and no answer is set up: a refresh attempt would fail the test.
    expect(await getToken('bot', deps)).toBe(MCT)
  })

  it('is revoked with POST /logout, which MAS serves for compatibility sessions, ending the session and its device', async () => {
    const {deps} = await imported()
    const scope = nock(HS).post(LOGOUT).matchHeader('authorization', `Bearer ${MCT}`).reply(200, {})
    const result = await revokeSession({name: 'bot'}, deps)
    scope.done()
    expect(result).toMatchObject({name: 'bot', deviceId: DEVICE, revokedOnServer: true})
    expect(deps.memory.items.size).toBe(0)
    expect(await deps.registry.list()).toEqual([])
  })

  it('counts as revoked when MAS has ended the compatibility session already, which whoami confirms', async () => {
    const {deps} = await imported()
    const scope = nock(HS)
      .post(LOGOUT)
      .reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token'})
      .get(WHOAMI)
      .matchHeader('authorization', `Bearer ${MCT}`)
      .reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Token is not active', soft_logout: false})
    expect((await revokeSession({name: 'bot'}, deps)).revokedOnServer).toBe(true)
    scope.done()
    expect(await deps.registry.list()).toEqual([])
  })

  it('is refused in one line when the server no longer accepts it, keeping nothing', async () => {
    const deps = unitDeps()
    nock(HS).get(WHOAMI).reply(401, {errcode: 'M_UNKNOWN_TOKEN', error: 'Token is not active', soft_logout: false})
    await expect(importSession({name: 'bot', token: async () => MCT, homeserver: HS}, deps)).rejects.toMatchObject({
      kind: 'tokenInvalid',
      message: expect.stringContaining('does not accept this token'),
    })
    expect(deps.memory.items.size).toBe(0)
  })
})
