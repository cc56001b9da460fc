import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {
  type DBusValue,
  decodeMessage,
  encodeMessage,
  MessageType,
  messageSize,
  Reader,
  splitSignature,
  Writer,
} from '../../src/store/secret-service/dbus-wire.js'

const hex = (s: string) => Buffer.from(s.replace(/[^0-9a-f]/g, ''), 'hex')
const written = (signature: string, values: DBusValue[]) => new Writer().values(signature, values).done()
const readBack = (signature: string, bytes: Buffer) => new Reader(bytes, true).values(signature)

describe('signatures', () => {
  it('splits into complete types and refuses what is not one', () => {
    expect(splitSignature('sa{sv}(oayays)aoyv')).toEqual(['s', 'a{sv}', '(oayays)', 'ao', 'y', 'v'])
    expect(splitSignature('a{o(oayays)}')).toEqual(['a{o(oayays)}'])
    for (const bad of ['a', '(s', 'a{vs}', 'a{sss}', '{ss}', '()', 'z', 'a{s}']) expect(() => splitSignature(bad), bad).toThrow()
  })
})

describe('alignment', () => {
  it('pads each value to its own boundary, counted from the start of the message', () => {
    expect(written('yu', [1, 2])).toEqual(hex('01 000000 02000000'))
    expect(written('y(y)', [1, [2]])).toEqual(hex('01 00000000000000 02'))
    expect(written('ys', [7, 'é'])).toEqual(hex('07 000000 02000000 c3a9 00'))
    expect(written('yg', [7, 'as'])).toEqual(hex('07 02 6173 00'))
    expect(written('ay', [Buffer.from([1, 2, 3])])).toEqual(hex('03000000 010203'))
    // An array of 8-aligned elements pads after its length even when empty; the padding is not counted.
    expect(written('a{sv}', [{}])).toEqual(hex('00000000 00000000'))
    expect(written('ya{ss}', [9, {k: 'v'}])).toEqual(hex('09 000000 0e000000 01000000 6b 00 0000 01000000 76 00'))
    expect(written('yv', [1, {signature: 'u', value: 5}])).toEqual(hex('01 01 75 00 05000000'))
  })

  it('reads values at the same offsets it writes them', () => {
    const bytes = written('ya{ss}yv', [9, {k: 'v'}, 3, {signature: 'u', value: 5}])
    expect(readBack('ya{ss}yv', bytes)).toEqual([9, new Map([['k', 'v']]), 3, {signature: 'u', value: 5}])
  })
})

describe('round trips', () => {
  it('of every type the Secret Service calls use', () => {
    const signature = 'ybnqiusogvaya{ss}a{sv}(oayays)aoa{o(oayays)}'
    const values: DBusValue[] = [
      255,
      true,
      -2,
      65535,
      -70000,
      4_000_000_000,
      'text ✓',
      '/org/freedesktop/secrets/collection/login/1',
      'a{sv}',
      {signature: 'ay', value: Buffer.from([0, 1, 2, 255])},
      Buffer.from('bytes'),
      new Map([
        ['service', 'mxtok'],
        ['username', '@a:hs/DEV'],
      ]),
      new Map([['org.freedesktop.Secret.Item.Label', {signature: 's', value: 'label'}]]),
      ['/s', Buffer.alloc(16, 1), Buffer.from('secret'), 'text/plain'],
      ['/a', '/b/c'],
      new Map([['/i/1', ['/s', Buffer.alloc(16, 2), Buffer.alloc(32, 3), 'text/plain']]]),
    ]
    expect(readBack(signature, written(signature, values))).toEqual(values)
  })

  it('of any secrets reply', () => {
    const text = fc.string({unit: 'grapheme'}).filter((s) => !s.includes('\0'))
    const bytes = fc.uint8Array({maxLength: 80}).map((a) => Buffer.from(a))
    fc.assert(
      fc.property(fc.array(fc.tuple(text, text, bytes, bytes, text), {maxLength: 8}), fc.integer({min: 0, max: 7}), (entries, shift) => {
        const value = new Map<DBusValue, DBusValue>(entries.map(([path, session, params, secret, type]) => [path, [session, params, secret, type]]))
        // Written after `shift` bytes, so that every padding case comes up.
        const bytesOut = new Writer().raw(Buffer.alloc(shift)).value('a{o(oayays)}', value).done()
        const read = new Reader(bytesOut, true, shift).value('a{o(oayays)}')
        expect(read).toEqual(value)
      }),
    )
  })
})

describe('messages', () => {
  // The answer to SearchItems as a bus sends it: (ao ["/a"], ao []), to call 3, from ":1.2".
  const littleEndianReply = hex(`
    6c 02 01 01  10000000  07000000  22000000
    05 01 75 00  03000000
    07 01 73 00  04000000  3a312e32 00  000000
    08 01 67 00  04 616f616f 00  000000000000
    07000000  02000000 2f61 00  00  00000000`)
  const bigEndianReply = hex(`
    42 02 01 01  00000010  00000007  00000022
    05 01 75 00  00000003
    07 01 73 00  00000004  3a312e32 00  000000
    08 01 67 00  04 616f616f 00  000000000000
    00000007  00000002 2f61 00  00  00000000`)

  it.each([
    ['little', littleEndianReply],
    ['big', bigEndianReply],
  ])('parses a %s-endian reply from its bytes', (_, bytes) => {
    expect(messageSize(bytes)).toBe(bytes.length)
    expect(messageSize(bytes.subarray(0, 15))).toBeUndefined()
    expect(decodeMessage(bytes)).toEqual({
      type: MessageType.methodReturn,
      flags: 1,
      serial: 7,
      replySerial: 3,
      sender: ':1.2',
      signature: 'aoao',
      body: [['/a'], []],
    })
  })

  it('writes a method call that parses back field for field', () => {
    const call = {
      type: MessageType.methodCall,
      flags: 0,
      serial: 42,
      destination: 'org.freedesktop.secrets',
      path: '/org/freedesktop/secrets',
      interface: 'org.freedesktop.Secret.Service',
      member: 'GetSecrets',
      signature: 'aoo',
      body: [['/org/freedesktop/secrets/collection/login/7'], '/org/freedesktop/secrets/session/s1'],
    }
    const bytes = encodeMessage(call)
    expect(bytes.subarray(0, 4)).toEqual(hex('6c 01 00 01'))
    expect(messageSize(bytes)).toBe(bytes.length)
    expect(decodeMessage(bytes)).toEqual(call)
  })

  it('refuses a body that does not match its signature, and a stream that is not D-Bus', () => {
    const bytes = Buffer.from(littleEndianReply)
    // The first array claims 8 bytes instead of 7: its element runs past what is left.
    bytes.writeUInt32LE(8, 56)
    expect(() => decodeMessage(bytes)).toThrow()
    expect(() => messageSize(Buffer.from('AUTH EXTERNAL 31303030\r\n'))).toThrow(/not a D-Bus message/)
    expect(() => messageSize(hex('6c 02 01 01 ffffffff 07000000 22000000'))).toThrow(/larger than the protocol allows/)
  })
})
