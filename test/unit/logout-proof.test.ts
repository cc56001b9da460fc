// revoke of a token that /logout answers 401 M_UNKNOWN_TOKEN: that is proof of a dead token only
// when whoami refuses it too, and never for the tokens a MAS deployment's /logout cannot handle
// (personal and OAuth access tokens), which it refuses there while they work. The answers are
// those of MAS 1.22 behind its proxy, and of Synapse in its MAS mode.
import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {importSession} from '../../src/core/import-session.js'
import {revokeSession} from '../../src/core/revoke-session.js'
import {ExitCode} from '../../src/errors.js'
import {METADATA} from '../support/mas.js'
import {unitDeps} from '../support/unit-deps.js'

const HS = 'https://matrix.hs.example'
const USER = '@ci:hs.example'
const DEVICE = 'MXTOKPERSONAL01'
const MPT = 'mpt_Hq7Rk2Lm9Xw4Tz8Vb3Nc6Yd1Fg5Js0_0a1B2c'
const MAT = 'mat_Pw3Lz8Qr5Xk2Tn7Vb4Mc9Yd6Fg1Hs0_3d4E5f'
const SYT = 'syt_Y2k_aBcDeFgHiJkLmNoPqRs_0a1b2c'
const WHOAMI = '/_matrix/client/v3/account/whoami'
const LOGOUT = '/_matrix/client/v3/logout'
const METADATA_PATH = '/_matrix/client/v1/auth_metadata'
const UNKNOWN = {errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token'}

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

async function imported(token: string) {
  const deps = unitDeps()
  const scope = nock(HS).get(WHOAMI).reply(200, {user_id: USER, device_id: DEVICE, is_guest: false})
  await importSession({name: 'ci', token: async () => token, homeserver: HS}, deps)
  scope.done()
  return deps
}

async function expectKept(deps: ReturnType<typeof unitDeps>, token: string) {
  expect((await deps.registry.list()).map((s) => s.name)).toEqual(['ci'])
  expect([...deps.memory.items.values()]).toEqual([token])
}

describe('revoke when /logout answers M_UNKNOWN_TOKEN', () => {
  it.each([
    ['personal', MPT],
    ['OAuth', MAT],
  ])('keeps a MAS %s access token on a server with next-generation auth, exit 4, naming what to run', async (_, token) => {
    const deps = await imported(token)
    // No whoami: Synapse in MAS mode may answer it from its cache, and the token is alive anyway.
    const scope = nock(HS).post(LOGOUT).reply(401, UNKNOWN).get(METADATA_PATH).reply(200, METADATA)
    const revoked = revokeSession({name: 'ci'}, deps)
    await expect(revoked).rejects.toMatchObject({exitCode: ExitCode.tokenInvalid})
    const message = ((await revoked.catch((e) => e)) as Error).message
    expect(message).toContain(`only its authentication service ${METADATA.issuer} does`)
    expect(message).toContain('"mxtok revoke ci --local-only"')
    expect(message).not.toContain(token)
    expect(message).not.toContain('\n')
    scope.done()
    await expectKept(deps, token)
  })

  it('keeps a token that whoami still accepts, whatever its kind, exit 4', async () => {
    const deps = await imported(SYT)
    const scope = nock(HS).post(LOGOUT).reply(401, UNKNOWN).get(WHOAMI).reply(200, {user_id: USER, device_id: DEVICE})
    await expect(revokeSession({name: 'ci'}, deps)).rejects.toMatchObject({
      exitCode: ExitCode.tokenInvalid,
      message: expect.stringMatching(/yet still accepts it; session "ci" was kept: end it where it was issued, then run "mxtok revoke ci --local-only"$/),
    })
    scope.done()
    await expectKept(deps, SYT)
  })

  it('counts an mpt_ token as dead on a server without next-generation auth when whoami refuses it too', async () => {
    const deps = await imported(MPT)
    const scope = nock(HS)
      .post(LOGOUT)
      .reply(401, UNKNOWN)
      .get(METADATA_PATH)
      .reply(404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
      .get(WHOAMI)
      .reply(401, UNKNOWN)
    expect((await revokeSession({name: 'ci'}, deps)).revokedOnServer).toBe(true)
    scope.done()
    expect(await deps.registry.list()).toEqual([])
  })

  it('keeps the session when whoami cannot say (the server fails), as any failed revoke does', async () => {
    const deps = await imported(SYT)
    const scope = nock(HS).post(LOGOUT).reply(401, UNKNOWN).get(WHOAMI).reply(502, 'Bad Gateway')
    await expect(revokeSession({name: 'ci'}, deps)).rejects.toMatchObject({message: expect.stringContaining('session "ci" was kept')})
    scope.done()
    await expectKept(deps, SYT)
  })
})
