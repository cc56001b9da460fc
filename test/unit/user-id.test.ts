import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {MatrixClient} from '../../src/matrix/client.js'
import {parseHomeserverUrl} from '../../src/matrix/homeserver-url.js'
import {parseServerName, parseUserId, resolveUserId} from '../../src/matrix/user-id.js'

describe('parseUserId', () => {
  it.each([
    ['@alice:example.com', 'alice', 'example.com', 'example.com'],
    ['@bot:localhost:8448', 'bot', 'localhost:8448', 'localhost'],
    ['@a.b_c=d-e/f+g:1.2.3.4', 'a.b_c=d-e/f+g', '1.2.3.4', '1.2.3.4'],
    ['@x:[::1]:8008', 'x', '[::1]:8008', '[::1]'],
    ['@Historical!Name:example.org', 'Historical!Name', 'example.org', 'example.org'],
  ])('%s', (text, localpart, serverName, hostname) => {
    expect(parseUserId(text)).toEqual({full: text, localpart, serverName, hostname})
  })

  it.each([
    'alice:example.com',
    '@alice',
    '@:example.com',
    '@al ice:example.com',
    '@a:exa_mple.com',
    '@a:1.2.3.999',
    '@a:host:0',
    '@a:host:99999',
    '@a:[zz::1]',
    '@a:',
  ])('rejects %s as a usage error', (text) => {
    expect(() => parseUserId(text)).toThrow(expect.objectContaining({kind: 'usage'}))
  })

  it('rejects IDs over 255 characters', () => {
    expect(() => parseUserId(`@${'a'.repeat(250)}:example.com`)).toThrow(/longer than 255/)
  })

  it('accepts every ID built from the grammar and round-trips it', () => {
    const localpart = fc.stringMatching(/^[a-z0-9._=\-/+]{1,30}$/)
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/)
    const host = fc.oneof(
      fc.array(label, {minLength: 1, maxLength: 4}).map((l) => l.join('.')),
      fc.ipV4(),
      fc.ipV6().map((a) => `[${a}]`),
    )
    const server = fc.tuple(host, fc.option(fc.integer({min: 1, max: 65535}), {nil: undefined})).map(([h, p]) => (p ? `${h}:${p}` : h))
    fc.assert(
      fc.property(localpart, server, (l, s) => {
        const id = parseUserId(`@${l}:${s}`)
        expect(id.localpart).toBe(l)
        expect(id.serverName).toBe(s)
      }),
    )
  })

  it('never throws anything but a usage error, whatever the input', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        try {
          parseUserId(text)
        } catch (error) {
          expect(error).toMatchObject({kind: 'usage'})
        }
      }),
    )
  })
})

describe('resolveUserId', () => {
  it('completes a localpart with the server name', () => {
    expect(resolveUserId('bot', 'hs.example:8448').full).toBe('@bot:hs.example:8448')
  })
  it('asks for --homeserver when only a localpart is given', () => {
    expect(() => resolveUserId('bot')).toThrow(/pass --homeserver/)
  })
})

describe('parseServerName', () => {
  it('splits the port off', () => {
    expect(parseServerName('matrix.org:443')).toEqual({hostname: 'matrix.org', port: 443})
    expect(parseServerName('[2001:db8::1]')).toEqual({hostname: '[2001:db8::1]', port: undefined})
  })
})

describe('parseHomeserverUrl', () => {
  it('accepts https and loopback http, trimming a trailing slash', () => {
    expect(parseHomeserverUrl('https://matrix.example.com/').href).toBe('https://matrix.example.com/')
    expect(parseHomeserverUrl('https://example.com/matrix/').href).toBe('https://example.com/matrix')
    expect(parseHomeserverUrl('http://127.0.0.1:8008').href).toBe('http://127.0.0.1:8008/')
    expect(parseHomeserverUrl('http://localhost:8008').host).toBe('localhost:8008')
    expect(parseHomeserverUrl('http://[::1]:8008').host).toBe('[::1]:8008')
  })

  it.each([
    ['ftp://matrix.example.com', /must use https/],
    ['https://user:pw@matrix.example.com', /user name or password/],
    ['https://matrix.example.com/#frag', /fragment/],
    ['https://matrix.example.com/?a=b', /query/],
    ['matrix.example.com', /not a URL/],
  ])('rejects %s', (text, why) => {
    expect(() => parseHomeserverUrl(text)).toThrow(why)
  })

  it('keeps remote plain http, which a client refuses before any request unless the run allows it', () => {
    const url = parseHomeserverUrl('http://matrix.example.com')
    expect(url.protocol).toBe('http:')
    expect(() => new MatrixClient(url).assertSendable()).toThrow(
      expect.objectContaining({kind: 'usage', message: expect.stringMatching(/^refusing plain http/)}),
    )
    expect(() => new MatrixClient(url, {allowHttp: true}).assertSendable()).not.toThrow()
  })
})

describe('parseHomeserverUrl, by property', () => {
  it('accepts any web URL without credentials, query or fragment, never changing its scheme; a client sends plain http only to loopback', () => {
    fc.assert(
      fc.property(fc.webUrl({withQueryParameters: false, withFragments: false}), (url) => {
        fc.pre(!new URL(url).username && !new URL(url).password)
        const parsed = parseHomeserverUrl(url)
        expect(parsed.protocol).toBe(new URL(url).protocol)
        expect(parsed.search + parsed.hash + parsed.username + parsed.password).toBe('')
        let refused = false
        try {
          new MatrixClient(parsed).assertSendable()
        } catch (error) {
          expect(error).toMatchObject({kind: 'usage'})
          refused = true
        }
        const loopback =
          parsed.hostname.toLowerCase() === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(parsed.hostname) || parsed.hostname === '[::1]'
        expect(refused).toBe(parsed.protocol === 'http:' && !loopback)
      }),
    )
  })

  it('refuses every URL with credentials, a query or a fragment', () => {
    fc.assert(
      fc.property(fc.webUrl({withQueryParameters: true, withFragments: true}), fc.webAuthority({withUserInfo: true}), (url, authority) => {
        const u = new URL(url)
        fc.pre(u.search.length > 1 || u.hash.length > 1)
        expect(() => parseHomeserverUrl(url)).toThrow(expect.objectContaining({kind: 'usage'}))
        const withAuth = new URL(`https://${authority}/`)
        fc.pre(withAuth.username !== '' || withAuth.password !== '')
        expect(() => parseHomeserverUrl(`https://${authority}/`)).toThrow(expect.objectContaining({kind: 'usage'}))
      }),
    )
  })
})
