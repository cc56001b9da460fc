import {describe, expect, it} from 'vitest'
import {MxtokError} from '../../src/errors.js'
import {MatrixError, withContext} from '../../src/matrix/errors.js'

describe('adding context to an error', () => {
  it('keeps a MatrixError as the cause, with everything callers branch on', () => {
    const original = new MatrixError({
      status: 0,
      errcode: 'mxtok.unreachable',
      message: 'cannot reach hs.example',
      retryAfterMs: 5,
      body: {a: 1},
      notSent: true,
    })
    const wrapped = original.withContext('; session "x" was kept')
    expect(wrapped).toBeInstanceOf(MatrixError)
    expect(wrapped).toMatchObject({
      message: 'cannot reach hs.example; session "x" was kept',
      status: 0,
      errcode: 'mxtok.unreachable',
      retryAfterMs: 5,
      body: {a: 1},
      notSent: true,
    })
    expect(wrapped.cause).toBe(original)
  })

  it('keeps an MxtokError as the cause, with its kind', () => {
    const original = new MxtokError('keychain', 'cannot use the OS keychain')
    const wrapped = original.withContext(' (while revoking)')
    expect(wrapped).toMatchObject({kind: 'keychain', message: 'cannot use the OS keychain (while revoking)'})
    expect(wrapped.cause).toBe(original)
  })

  it('adds it to either kind of mxtok error, and leaves any other error as it was', () => {
    expect(withContext(new MxtokError('usage', 'bad'), ' (here)')).toMatchObject({kind: 'usage', message: 'bad (here)'})
    expect(withContext(new MatrixError({status: 500, errcode: 'M_UNKNOWN', message: 'boom'}), '; kept')).toMatchObject({
      errcode: 'M_UNKNOWN',
      message: 'boom; kept',
    })
    const other = new TypeError('not ours')
    expect(withContext(other, ' (here)')).toBe(other)
  })
})
