import {describe, expect, it} from 'vitest'
import {qrCode, showDeviceCode} from '../../src/cli/device-code.js'

const prompt = {
  userId: '@bot:hs.example',
  userCode: 'QW7ZKP',
  verificationUri: 'https://auth.hs.example/link',
  verificationUriComplete: 'https://auth.hs.example/link?code=QW7ZKP',
  expiresInS: 1200,
}

function fakeStderr(isTTY: boolean) {
  const out = {isTTY, text: '', write: (chunk: string) => ((out.text += chunk), true)}
  return out
}

describe('showDeviceCode', () => {
  it('shows the URL with the code filled in, the bare URL and the code, and how long it lasts; no QR code when not on a terminal', async () => {
    const stderr = fakeStderr(false)
    await showDeviceCode(prompt, stderr as unknown as NodeJS.WriteStream)
    expect(stderr.text).toBe(
      [
        'To sign in as @bot:hs.example, open https://auth.hs.example/link?code=QW7ZKP',
        '(or open https://auth.hs.example/link and enter the code QW7ZKP)',
        'Waiting for the approval (the code expires in 20 minutes; Ctrl-C cancels)...',
        '',
      ].join('\n'),
    )
  })

  it('adds a QR code of the complete URL on a terminal', async () => {
    const stderr = fakeStderr(true)
    await showDeviceCode(prompt, stderr as unknown as NodeJS.WriteStream)
    expect(stderr.text).toContain(await qrCode(prompt.verificationUriComplete))
  })
})

describe('showDeviceCode with a link longer than a QR code holds', () => {
  it("shows the link and the code on a terminal, without a QR code, instead of failing on the server's choice", async () => {
    const long = `https://auth.hs.example/link?code=QW7ZKP&state=${'x'.repeat(3000 - 47)}`
    expect(long).toHaveLength(3000)
    const stderr = fakeStderr(true)
    await showDeviceCode({...prompt, verificationUriComplete: long}, stderr as unknown as NodeJS.WriteStream)
    expect(stderr.text).toBe(
      [
        `To sign in as @bot:hs.example, open ${long}`,
        '(or open https://auth.hs.example/link and enter the code QW7ZKP)',
        'Waiting for the approval (the code expires in 20 minutes; Ctrl-C cancels)...',
        '',
      ].join('\n'),
    )
    expect(await qrCode(long)).toBeNull()
  })
})

describe('qrCode', () => {
  it('draws two modules per character, dark on light, within 80 columns and 24 rows for a URL of this length', async () => {
    const rows = (await qrCode(prompt.verificationUriComplete))!.split('\n')
    const width = rows[0].split('\u2580').length - 1
    // Version 3 (29 modules) for 40 bytes at level L, and a border of 2 on each side.
    expect(width).toBe(33)
    expect(rows).toHaveLength(17)
    for (const row of rows) expect(row.split('\u2580').length - 1).toBe(width)
    // The quiet zone: the first row is light on light all across.
    expect(rows[0].startsWith('\u001B[97;107m\u2580'.repeat(2))).toBe(true)
    expect(rows[0].endsWith('\u001B[0m')).toBe(true)
  })
})
