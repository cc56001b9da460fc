import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {defaultDeps} from '../../src/cli/default-deps.js'
import type {InFlight} from '../../src/cli/live/in-flight.js'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

describe('defaultDeps', () => {
  it("records every client's requests under way by homeserver host, the OAuth client's too", async () => {
    const inFlight: InFlight = new Map()
    const env = {MXTOK_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'mxtok-deps-'))}
    const deps = defaultDeps(env, {verbose: false, allowHttp: false}, () => {}, inFlight)
    const seen: string[][] = []
    const answer = (body: object) => (): [number, object] => {
      seen.push([...inFlight.keys()])
      return [200, body]
    }
    nock('https://hs.example')
      .get('/_matrix/client/versions')
      .reply(answer({versions: ['v1.11']}))
      .get('/_matrix/client/v3/login')
      .reply(answer({flows: [{type: 'm.login.password'}]}))
    await deps.client('https://hs.example').versions()
    await deps.oauth('https://hs.example').loginFlows()
    expect(seen).toEqual([['hs.example'], ['hs.example']])
    expect(inFlight.size).toBe(0)
  })

  it('allows plain http to another host only when the run does', async () => {
    const env = {MXTOK_CONFIG_DIR: mkdtempSync(join(tmpdir(), 'mxtok-deps-')), MXTOK_ALLOW_HTTP: '1'}
    // The variable is read where the run's options are made, not here.
    expect(() =>
      defaultDeps(env, {verbose: false, allowHttp: false}, () => {})
        .client('http://10.0.0.5:8008')
        .assertSendable(),
    ).toThrow(/refusing plain http/)
    expect(() =>
      defaultDeps(env, {verbose: false, allowHttp: true}, () => {})
        .client('http://10.0.0.5:8008')
        .assertSendable(),
    ).not.toThrow()
  })
})
