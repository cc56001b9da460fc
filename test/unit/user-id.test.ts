import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
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
    ['http://matrix.example.com', /refusing plain http/],
    ['ftp://matrix.example.com', /must use https/],
    ['https://user:pw@matrix.example.com', /user name or password/],
    ['https://matrix.example.com/#frag', /fragment/],
    ['https://matrix.example.com/?a=b', /query/],
    ['matrix.example.com', /not a URL/],
  ])('rejects %s', (text, why) => {
    expect(() => parseHomeserverUrl(text)).toThrow(why)
  })

  it('allows remote plain http only when asked', () => {
    expect(parseHomeserverUrl('http://matrix.example.com', {allowHttp: true}).protocol).toBe('http:')
  })
})

describe('parseHomeserverUrl, by property', () => {
  it('accepts any https URL without credentials, query or fragment, and never loosens to http', () => {
    fc.assert(
      fc.property(fc.webUrl({withQueryParameters: false, withFragments: false}), (url) => {
        fc.pre(!new URL(url).username && !new URL(url).password)
        let parsed: URL
        try {
          parsed = parseHomeserverUrl(url)
        } catch (error) {
          // Only plain http to a remote host may be refused here.
          expect(error).toMatchObject({kind: 'usage'})
          expect(new URL(url).protocol).toBe('http:')
          return
        }
        expect(parsed.protocol === 'https:' || /^(localhost|127\.|\[::1\])/.test(parsed.host)).toBe(true)
        expect(parsed.search + parsed.hash + parsed.username + parsed.password).toBe('')
      }),
    )
  })

  it('refuses every URL with credentials, a query or a fragment', () => {
    fc.assert(
      fc.property(fc.webUrl({withQueryParameters: true, withFragments: true}), fc.webAuthority({withUserInfo: true}), (url, authority) => {
        const u = new URL(url)
        fc.pre(u.search.length > 1 || u.hash.length > 1)
        expect(() => parseHomeserverUrl(url, {allowHttp: true})).toThrow(expect.objectContaining({kind: 'usage'}))
        const withAuth = new URL(`https://${authority}/`)
        fc.pre(withAuth.username !== '' || withAuth.password !== '')
        expect(() => parseHomeserverUrl(`https://${authority}/`)).toThrow(expect.objectContaining({kind: 'usage'}))
      }),
    )
  })
})
