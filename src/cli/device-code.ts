import type {DeviceCodePrompt} from '../core/create-oauth-session.js'
import {usageError} from '../errors.js'
import {writeLines} from '../output/terminal.js'

/**
 * Shows where to approve an OAuth login, on stderr since stdout may carry --json. The user code and
 * the URL are meant to be seen; the device code never is. A QR code only on a terminal, for a phone.
 */
export async function showDeviceCode(prompt: DeviceCodePrompt, stderr: NodeJS.WriteStream): Promise<void> {
  const minutes = Math.max(1, Math.round(prompt.expiresInS / 60))
  const lines = prompt.verificationUriComplete
    ? [`To sign in as ${prompt.userId}, open ${prompt.verificationUriComplete}`, `(or open ${prompt.verificationUri} and enter the code ${prompt.userCode})`]
    : [`To sign in as ${prompt.userId}, open ${prompt.verificationUri} and enter the code ${prompt.userCode}`]
  writeLines(stderr, lines)
  // The QR code's own colours are the one thing written raw: it shows the URL as pixels, not as text.
  const qr = stderr.isTTY ? await qrCode(prompt.verificationUriComplete ?? prompt.verificationUri) : null
  if (qr !== null) stderr.write(`${qr}\n`)
  writeLines(stderr, [`Waiting for the approval (the code expires in ${minutes} minute${minutes === 1 ? '' : 's'}; Ctrl-C cancels)...`])
}

/**
 * Two modules a character, as upper half blocks with explicit colours, so that the code is dark on
 * light whatever the terminal's theme and fits a 80x24 terminal for a URL of MAS's length. null for a
 * URL longer than a QR code holds (about 2,900 bytes): the server chose it, and the lines above show it.
 */
export async function qrCode(text: string): Promise<string | null> {
  const {encode} = await import('uqr')
  let qr: ReturnType<typeof encode>
  try {
    qr = encode(text, {border: 2})
  } catch {
    return null
  }
  const {data, size} = qr
  const dark = (y: number, x: number) => y < size && data[y][x]
  const rows: string[] = []
  for (let y = 0; y < size; y += 2) {
    let row = ''
    for (let x = 0; x < size; x++) row += `\u001B[${dark(y, x) ? 30 : 97};${dark(y + 1, x) ? 40 : 107}m\u2580`
    rows.push(`${row}\u001B[0m`)
  }
  return rows.join('\n')
}

/** Waits like setTimeout, but Ctrl-C ends the wait, so that create cleans up behind itself. */
export function interruptibleSleep(ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const interrupted = () => {
      clearTimeout(timer)
      reject(usageError('cancelled; nothing was created'))
    }
    const timer = setTimeout(() => {
      process.off('SIGINT', interrupted)
      resolve()
    }, ms)
    process.once('SIGINT', interrupted)
  })
}
