import {describe, expect, it} from 'vitest'
import {bypassed, proxyFor} from '../../src/matrix/proxy.js'

const u = (s: string) => new URL(s)

describe('proxyFor', () => {
  it('takes HTTPS_PROXY for https URLs and HTTP_PROXY for http ones, lower case too', () => {
    const env = {HTTPS_PROXY: 'http://secure:3128', http_proxy: 'plain:8080'}
    expect(proxyFor(u('https://hs.example'), env)?.href).toBe('http://secure:3128/')
    expect(proxyFor(u('http://hs.example'), env)?.href).toBe('http://plain:8080/')
    expect(proxyFor(u('https://hs.example'), {})).toBeUndefined()
  })

  it('skips hosts in NO_PROXY', () => {
    expect(proxyFor(u('https://hs.example'), {HTTPS_PROXY: 'http://p:1', NO_PROXY: 'example'})).toBeUndefined()
    expect(proxyFor(u('https://hs.example'), {HTTPS_PROXY: 'http://p:1', no_proxy: 'other.example'})?.host).toBe('p:1')
  })

  it.each(['http://127.0.0.1:8008', 'http://127.1.2.3', 'http://localhost:8008', 'http://LOCALHOST', 'http://[::1]:8008'])(
    'never sends plain http to loopback (%s) through a proxy, whatever NO_PROXY says',
    (url) => {
      expect(proxyFor(u(url), {HTTP_PROXY: 'http://p:1', HTTPS_PROXY: 'http://p:1', NO_PROXY: ''})).toBeUndefined()
      expect(proxyFor(u(url), {http_proxy: 'http://p:1', no_proxy: 'other.example'})).toBeUndefined()
    },
  )

  it('still proxies plain http to other hosts, and https to loopback (TLS runs inside the tunnel)', () => {
    expect(proxyFor(u('http://10.0.0.5:8008'), {HTTP_PROXY: 'http://p:1'})?.host).toBe('p:1')
    expect(proxyFor(u('http://127.0.0.1.example:8008'), {HTTP_PROXY: 'http://p:1'})?.host).toBe('p:1')
    expect(proxyFor(u('https://127.0.0.1:8448'), {HTTPS_PROXY: 'http://p:1'})?.host).toBe('p:1')
  })

  it('refuses a proxy it cannot speak to, saying what to set', () => {
    expect(() => proxyFor(u('https://hs.example'), {HTTPS_PROXY: 'https://p:1'})).toThrow(/only http:\/\/ proxies are supported/)
    expect(() => proxyFor(u('https://hs.example'), {HTTPS_PROXY: 'http://[bad'})).toThrow(/is not a URL/)
  })
})

describe('bypassed (NO_PROXY)', () => {
  it.each([
    ['https://hs.example', '*', true],
    ['https://hs.example', 'hs.example', true],
    ['https://matrix.hs.example', 'hs.example', true],
    ['https://matrix.hs.example', '.hs.example', true],
    ['https://matrix.hs.example', '*.hs.example', true],
    ['https://noths.example', 'hs.example', false],
    ['https://hs.example', 'hs.example:443', true],
    ['https://hs.example:8448', 'hs.example:443', false],
    ['http://127.0.0.1:8008', 'localhost, 127.0.0.1', true],
    ['http://[::1]:8008', '::1', true],
    ['http://[::1]:8008', '[::1]:8008', true],
    ['https://hs.example', '', false],
  ])('%s with NO_PROXY=%j: %s', (url, noProxy, expected) => {
    expect(bypassed(u(url), noProxy)).toBe(expected)
  })
})
