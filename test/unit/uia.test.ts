import {describe, expect, it} from 'vitest'
import {LocalErrcode, MatrixError} from '../../src/matrix/errors.js'
import {acceptsPassword, passwordAuth, uiaChallenge} from '../../src/matrix/uia.js'

const error401 = (errcode: string, body?: Record<string, unknown>) => new MatrixError({status: 401, errcode, message: 'x', body})

describe('uiaChallenge', () => {
  it('reads the session and the flows of a 401', () => {
    const body = {session: 'S1', flows: [{stages: ['m.login.password']}, {stages: ['m.login.sso']}, {stages: 'bad'}, null], params: {}}
    expect(uiaChallenge(error401(LocalErrcode.badResponse, body))).toEqual({session: 'S1', flows: [['m.login.password'], ['m.login.sso']]})
  })

  it('keeps the errcode of a failed attempt', () => {
    expect(uiaChallenge(error401('M_FORBIDDEN', {session: 'S1', flows: [], errcode: 'M_FORBIDDEN'}))).toEqual({
      session: 'S1',
      flows: [],
      errcode: 'M_FORBIDDEN',
    })
  })

  it('is an empty challenge when the answer could not be read', () => {
    expect(uiaChallenge(error401(LocalErrcode.badResponse))).toEqual({})
  })

  it('is null for a dead or missing token, another status, or another error', () => {
    expect(uiaChallenge(error401('M_UNKNOWN_TOKEN', {flows: []}))).toBeNull()
    expect(uiaChallenge(error401('M_MISSING_TOKEN'))).toBeNull()
    expect(uiaChallenge(new MatrixError({status: 403, errcode: 'M_FORBIDDEN', message: 'x'}))).toBeNull()
    expect(uiaChallenge(new Error('x'))).toBeNull()
  })
})

describe('acceptsPassword', () => {
  it('wants a flow that is a password alone, and assumes one when the flows are unknown', () => {
    expect(acceptsPassword({flows: [['m.login.sso'], ['m.login.password']]})).toBe(true)
    expect(acceptsPassword({flows: [['m.login.password', 'm.login.email.identity']]})).toBe(false)
    expect(acceptsPassword({flows: []})).toBe(false)
    expect(acceptsPassword({})).toBe(true)
  })
})

describe('passwordAuth', () => {
  it('identifies the user by ID, with the session only when there is one', () => {
    expect(passwordAuth('@a:b', 'pw')).toEqual({type: 'm.login.password', identifier: {type: 'm.id.user', user: '@a:b'}, password: 'pw'})
    expect(passwordAuth('@a:b', 'pw', 'S')).toMatchObject({session: 'S'})
  })
})
