import {describe, expect, it} from 'vitest'
import {adminTarget} from '../../src/core/admin-api.js'
import type {Session} from '../../src/registry/session.js'

const at = {homeserver: 'https://hs.example', createdAt: '2026-01-01T00:00:00.000Z', store: 'keychain' as const}
const grant = {issuer: 'https://auth.hs.example/', clientId: '01OPS', tokenEndpoint: 'https://auth.hs.example/oauth2/token', admin: true as const}
const user = {...at, name: 'root', auth: 'oauth', userId: '@root:hs.example', deviceId: 'MXTOKROOT00001', oauth: grant} as Session
const client = {...at, name: 'ops', auth: 'client', userId: 'client:01OPS', deviceId: 'CLIENTABCDEFGHIJKL', oauth: grant} as Session

describe('the user an admin session acts on', () => {
  it("completes a localpart with the admin's own server, and refuses a user of another", () => {
    expect(adminTarget(user, 'bot').full).toBe('@bot:hs.example')
    expect(() => adminTarget(user, '@bot:elsewhere.example')).toThrow('an admin reaches only users of its own server')
  })

  it("takes a full user ID from an admin client, whose token is no user's, and asks for one instead of a localpart", () => {
    expect(adminTarget(client, '@bot:hs.example').full).toBe('@bot:hs.example')
    expect(() => adminTarget(client, 'bot')).toThrow('"ops" is an admin client, of no server name: write --user in full, @bot:your.server')
  })
})
