import nock from 'nock'
import {afterEach, beforeAll, describe, expect, it} from 'vitest'
import {discoverHomeserver} from '../../src/matrix/discovery.js'
import {parseUserId} from '../../src/matrix/user-id.js'

beforeAll(() => nock.disableNetConnect())
afterEach(() => nock.cleanAll())

const user = parseUserId('@alice:example.com:8448')
const discover = () => discoverHomeserver(user, {timeoutMs: 2000})

describe('discoverHomeserver', () => {
  it('uses m.homeserver.base_url once it answers /versions', async () => {
    nock('https://example.com')
      .get('/.well-known/matrix/client')
      .reply(200, {'m.homeserver': {base_url: 'https://matrix.example.com/'}})
    nock('https://matrix.example.com')
      .get('/_matrix/client/versions')
      .reply(200, {versions: ['v1.11']})
    expect((await discover()).href).toBe('https://matrix.example.com/')
    expect(nock.isDone()).toBe(true)
  })

  it('falls back to https://<server name> on 404', async () => {
    nock('https://example.com').get('/.well-known/matrix/client').reply(404, 'not found')
    expect((await discover()).href).toBe('https://example.com:8448/')
  })

  it.each([
    [{}, /has no m.homeserver.base_url; pass --homeserver/],
    [{'m.homeserver': {base_url: 'not a url'}}, /names an invalid homeserver URL/],
    [{'m.homeserver': {base_url: 'http://matrix.example.com'}}, /refusing plain http:\/\/ to matrix\.example\.com, which is not on this machine/],
  ])('fails clearly on %j', async (body, why) => {
    nock('https://example.com').get('/.well-known/matrix/client').reply(200, body)
    await expect(discover()).rejects.toThrow(why)
  })

  it('fails clearly on a well-known that is not JSON', async () => {
    nock('https://example.com').get('/.well-known/matrix/client').reply(200, '<html></html>', {'content-type': 'text/html'})
    await expect(discover()).rejects.toThrow(/is not usable \(example.com answered HTTP 200 with an HTML page .*\); pass --homeserver$/)
  })

  it('fails on a server error instead of guessing', async () => {
    nock('https://example.com').get('/.well-known/matrix/client').reply(500, 'oops')
    await expect(discover()).rejects.toThrow(/is not usable \(example.com answered HTTP 500 .*\); pass --homeserver$/)
  })

  it('aborts when the named homeserver does not answer /versions', async () => {
    nock('https://example.com')
      .get('/.well-known/matrix/client')
      .reply(200, {'m.homeserver': {base_url: 'https://matrix.example.com'}})
    nock('https://matrix.example.com').get('/_matrix/client/versions').reply(502, 'bad gateway')
    await expect(discover()).rejects.toThrow(/the homeserver matrix.example.com named by .* does not answer \/versions/)
  })
})
