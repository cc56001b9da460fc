import {describe, expect, it} from 'vitest'
import {runOptions} from '../../src/cli/run-options.js'

describe('runOptions', () => {
  it('reads each option from its flag or from its variable, once, leaving the environment as it was', () => {
    const env = {MXTOK_DEBUG: '1'}
    expect(runOptions({}, env)).toEqual({json: false, verbose: true, allowHttp: false})
    expect(runOptions({verbose: true, 'allow-http': true, json: true}, {})).toEqual({json: true, verbose: true, allowHttp: true})
    expect(runOptions({}, {MXTOK_ALLOW_HTTP: '1'})).toEqual({json: false, verbose: false, allowHttp: true})
    // Only "1" allows plain http: MXTOK_ALLOW_HTTP=0 must not.
    expect(runOptions({}, {MXTOK_ALLOW_HTTP: '0'}).allowHttp).toBe(false)
    expect(env).toEqual({MXTOK_DEBUG: '1'})
  })
})
