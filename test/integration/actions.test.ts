// Actions run in-process over the test Io, against the real Synapse: what they print, and the exit
// code they hand back for the runner to set. None of them may set process.exitCode itself.
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {doctor} from '../../src/cli/actions/doctor.js'
import {exec} from '../../src/cli/actions/exec.js'
import {token} from '../../src/cli/actions/token.js'
import {verify} from '../../src/cli/actions/verify.js'
import {ExitCode} from '../../src/errors.js'
import {closeHttp} from '../../src/matrix/http.js'
import {secretAccount} from '../../src/store/secret-store.js'
import {service} from '../support/services.js'
import {freePort, rawLogin, rawLogout, rawWhoami, registerUser} from '../support/synapse.js'
import {testIo} from '../support/test-io.js'
import {type UnitDeps, unitDeps} from '../support/unit-deps.js'

const synapse = await service('synapse')
const PASSWORD = 'actions test password'
let userId: string

beforeAll(async () => {
  userId = await registerUser(synapse, `actions${process.pid}`, PASSWORD)
})

afterEach(async () => {
  const set = process.exitCode
  process.exitCode = undefined
  await closeHttp()
  expect(set, 'an action set process.exitCode').toBeUndefined()
})

/** A session of the test user, logged in without mxtok, its token in the memory store. */
async function addSession(deps: UnitDeps, name: string, homeserver = synapse.baseUrl) {
  const login = await rawLogin(synapse.baseUrl, userId, PASSWORD)
  await deps.registry.update(
    (sessions) =>
      void sessions.set(name, {
        name,
        userId,
        homeserver,
        deviceId: login.device_id,
        createdAt: '2026-01-02T03:04:05.000Z',
        store: 'keychain',
        auth: 'password',
      }),
  )
  deps.memory.items.set(secretAccount(userId, login.device_id), login.access_token)
  return login.access_token
}

describe('verify', () => {
  it('returns 4 when a token has been revoked, with both sessions in the table', async () => {
    const deps = unitDeps()
    await addSession(deps, 'live')
    const dead = await addSession(deps, 'dead')
    expect((await rawLogout(synapse.baseUrl, dead)).status).toBe(200)
    expect((await rawWhoami(synapse.baseUrl, dead)).status).toBe(401)
    const {io, stdout} = testIo(deps)

    const outcome = await verify({argv: []}, io)

    expect(outcome.exitCode).toBe(ExitCode.tokenInvalid)
    expect(outcome.result.map((r) => [r.name, r.status]).sort()).toEqual([
      ['dead', 'revoked'],
      ['live', 'valid'],
    ])
    expect(stdout()).toMatch(/dead\s+revoked/)
    expect(stdout()).toMatch(/live\s+valid/)
  })

  it('returns 0 when every token works', async () => {
    const deps = unitDeps()
    await addSession(deps, 'live')
    const outcome = await verify({argv: []}, testIo(deps).io)
    expect(outcome.exitCode).toBe(ExitCode.ok)
  })
})

describe('doctor', () => {
  it('returns 5 when a homeserver of a session does not answer, and says which', async () => {
    const deps = unitDeps()
    const gone = `http://127.0.0.1:${await freePort()}`
    await addSession(deps, 'stranded', gone)
    const {io, stdout} = testIo(deps)

    const outcome = await doctor({flags: {store: 'keychain'}}, io)

    expect(outcome.exitCode).toBe(ExitCode.homeserver)
    expect(outcome.result.ok).toBe(false)
    expect(stdout()).toContain(`FAIL homeserver ${gone} (1 session)`)
  })

  it('returns 0 when the store and the homeserver work', async () => {
    const deps = unitDeps()
    await addSession(deps, 'fine')
    const {io, stdout} = testIo(deps)
    const outcome = await doctor({flags: {store: 'keychain'}}, io)
    expect(outcome.exitCode, stdout()).toBe(ExitCode.ok)
    expect(outcome.result.ok).toBe(true)
  })
})

describe('exec', () => {
  it("returns the command's exit status", async () => {
    const deps = unitDeps()
    await addSession(deps, 'bot')
    const {io} = testIo(deps, {env: {PATH: process.env.PATH}})
    const outcome = await exec(
      {args: {name: 'bot'}, flags: {}, argv: ['bot'], rest: [process.execPath, '-e', 'process.exit(process.env.MATRIX_USER_ID ? 7 : 1)']},
      io,
    )
    expect(outcome.exitCode).toBe(7)
  })

  it('refuses a line without "--"', async () => {
    const deps = unitDeps()
    await expect(exec({args: {name: 'bot'}, flags: {}, argv: ['bot']}, testIo(deps).io)).rejects.toMatchObject({kind: 'usage'})
  })
})

describe('token', () => {
  it('prints the token alone on stdout and returns 0', async () => {
    const deps = unitDeps()
    const secret = await addSession(deps, 'bot')
    const {io, stdout, stderr} = testIo(deps)
    const outcome = await token({args: {name: 'bot'}}, io)
    expect(outcome.exitCode).toBe(ExitCode.ok)
    expect(stdout()).toBe(`${secret}\n`)
    expect(stderr()).toBe('')
    // Still alive on the server: printing it did nothing to it.
    expect((await rawWhoami(synapse.baseUrl, secret)).status).toBe(200)
  })
})
