// HTTPS_PROXY / HTTP_PROXY / NO_PROXY: requests go through a CONNECT tunnel, TLS runs inside it;
// plain http:// to loopback never goes through a proxy.
import {execFileSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {expectOneLineError, mxtokRunner, tempDir} from '../support/cli.js'
import {type ConnectProxy, startConnectProxy} from '../support/connect-proxy.js'
import {startCountingProxy, tcpTarget} from '../support/counting-proxy.js'
import {service} from '../support/services.js'
import {rawWhoami, registerUser} from '../support/synapse.js'

const synapse = await service('synapse')
const keyringEnv = await service('keyringEnv')
const PASSWORD = 'proxy-password-do-not-leak'
const TLS_TOKEN = 'syt_token_only_inside_the_tunnel'
const secrets = new Set([PASSWORD, TLS_TOKEN])

let configDir: string
let userId: string
let proxy: ConnectProxy | undefined
const {mxtok} = mxtokRunner(keyringEnv, () => configDir, secrets)

beforeAll(async () => {
  userId = await registerUser(synapse, 'proxied', PASSWORD)
})
afterEach(async () => {
  await proxy?.close()
  proxy = undefined
})

const create = (name: string, env: Record<string, string>, homeserver = synapse.baseUrl, user = userId) =>
  mxtok(['create', name, '--user', user, '--homeserver', homeserver, '--password-stdin', '--json'], {NO_PROXY: '', ...env}, `${PASSWORD}\n`)

describe('a loopback http:// homeserver', () => {
  it('goes direct even with HTTP_PROXY and HTTPS_PROXY set and no NO_PROXY: the proxy sees nothing, Synapse gets the login and the token', async () => {
    configDir = tempDir('mxtok-proxy-')
    proxy = await startConnectProxy()
    // A relay in front of Synapse counts what really reached it.
    const relay = await startCountingProxy(tcpTarget(synapse.baseUrl))
    try {
      const both = {HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, http_proxy: proxy.url, NO_PROXY: '', no_proxy: ''}
      const created = await create('bot', both, relay.address)
      expect(created.code, created.stderr).toBe(0)
      const verified = await mxtok(['verify', 'bot'], both)
      expect(verified.code, verified.stderr).toBe(0)
      expect(proxy.tunnels).toEqual([])
      expect(proxy.relayed().length).toBe(0)
      expect(relay.opened).toBeGreaterThan(0)
      const t = await mxtok(['token', 'bot'])
      secrets.add(t.stdout.trim())
      expect((await rawWhoami(synapse.baseUrl, t.stdout.trim())).status).toBe(200)
    } finally {
      await relay.stop()
    }
  })
})

describe('an https homeserver through the proxy', () => {
  let server: Server
  let certFile: string
  let device = ''
  let url: string
  const createTls = (env: Record<string, string>) => create('tls', {NODE_EXTRA_CA_CERTS: certFile, ...env}, url, '@tls:tls.example')
  beforeAll(async () => {
    const dir = tempDir('mxtok-tls-')
    certFile = join(dir, 'cert.pem')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      {stdio: 'ignore'},
    )
    server = createServer({key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(certFile)}, (req, res) => {
      let body = ''
      req.on('data', (c) => (body += c))
      req.on('end', () => {
        const answer = (status: number, value: unknown) => res.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify(value))
        if (req.method === 'GET' && req.url === '/_matrix/client/v3/login') return answer(200, {flows: [{type: 'm.login.password'}]})
        if (req.method === 'POST' && req.url === '/_matrix/client/v3/login') {
          device = JSON.parse(body).device_id
          return answer(200, {user_id: '@tls:tls.example', access_token: TLS_TOKEN, device_id: device})
        }
        if (req.method === 'GET' && req.url === '/_matrix/client/v3/account/whoami' && req.headers.authorization === `Bearer ${TLS_TOKEN}`)
          return answer(200, {user_id: '@tls:tls.example', device_id: device})
        if (req.method === 'POST' && req.url === '/_matrix/client/v3/logout') return answer(200, {})
        answer(404, {errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request'})
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('tunnels TLS: the proxy relays neither the password nor the token in a form it can read', async () => {
    configDir = tempDir('mxtok-proxy-')
    proxy = await startConnectProxy()
    const r = await createTls({HTTPS_PROXY: proxy.url})
    expect(r.code, r.stderr).toBe(0)
    const verified = await mxtok(['verify', 'tls'], {HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: certFile, NO_PROXY: ''})
    expect(verified.code, verified.stderr).toBe(0)
    expect(new Set(proxy.tunnels)).toEqual(new Set([new URL(url).host]))
    const relayed = proxy.relayed()
    expect(relayed.length).toBeGreaterThan(500)
    expect(relayed.includes(PASSWORD)).toBe(false)
    expect(relayed.includes(TLS_TOKEN)).toBe(false)
    expect(relayed.includes('m.login.password')).toBe(false)
  })

  it('goes direct to hosts listed in NO_PROXY', async () => {
    configDir = tempDir('mxtok-proxy-')
    proxy = await startConnectProxy()
    const r = await createTls({HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1'})
    expect(r.code, r.stderr).toBe(0)
    expect(proxy.tunnels).toEqual([])
  })

  it('says in one line when the proxy refuses, exits 5 and keeps nothing', async () => {
    configDir = tempDir('mxtok-proxy-')
    proxy = await startConnectProxy({refuseWith: 407})
    const r = await createTls({HTTPS_PROXY: proxy.url})
    expect(r.code).toBe(5)
    expect(JSON.parse(r.stdout).error.message).toMatch(/^cannot reach 127\.0\.0\.1:\d+ \(the proxy 127\.0\.0\.1:\d+ refused the tunnel with HTTP 407\); check/)
    const human = await mxtok(
      ['create', 'tls', '--user', '@tls:tls.example', '--homeserver', url, '--password-stdin'],
      {HTTPS_PROXY: proxy.url, NO_PROXY: '', NODE_EXTRA_CA_CERTS: certFile},
      `${PASSWORD}\n`,
    )
    expect(human.code).toBe(5)
    expectOneLineError(human)
    const list = await mxtok(['list', '--offline', '--json'])
    expect(JSON.parse(list.stdout)).toEqual({sessions: [], devices: []})
    // Not even a journal entry: the proxy's refusal proves no login reached the server.
    const file = join(configDir, 'sessions.json')
    expect(existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')).pending ?? {}) : {}).toEqual({})
  })
})
