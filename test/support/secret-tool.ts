// secret-tool (libsecret) against the Secret Services the tests start, without its failures by
// chance. libsecret's Diffie-Hellman exchange does not suit kwalletd5 about one session in 128
// (5 failures in 800 sessions here, 400 stores and 400 lookups):
// - libsecret sends its public value without leading zero bytes, so one time in 256 it is 127
//   bytes, and kwalletd5 takes exactly 128: "Client public key size is invalid".
// - libsecret pads a shared secret that begins with a zero byte to the prime's length before
//   deriving the AES key, and kwalletd5 does not, so one session in 256 has two different keys. A
//   store then fails with "Can't find session …" (kwalletd5's answer to a secret it cannot
//   decrypt); a lookup exits 1 and says nothing, as for a missing item, or (once in 256 of those)
//   prints garbage.
// So a store is made again after either error and read back over a plain session, a lookup goes
// through readSecret instead, and the probe retries its own lookup until the secret comes back.
import {type RunResult, run} from './private-bus.js'
import {readSecret} from './secret-reader.js'

const ATTEMPTS = 5
/** The two errors of a key exchange that went wrong; what a test meant to do can be tried again. */
const KEY_EXCHANGE_FAILED = /public key size is invalid|Can't find session/

/** secret-tool with these arguments, again (up to 5 times) when the key exchange failed. */
export async function secretTool(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<RunResult> {
  for (let attempt = 1; ; attempt++) {
    const res = await run('secret-tool', args, env, input)
    if (res.code === 0 || attempt === ATTEMPTS || !KEY_EXCHANGE_FAILED.test(res.stderr)) return res
  }
}

/**
 * `secret-tool store`, checked: the item read back over a plain session holds `secret`. Stored
 * again when it does not (a session whose two keys differed may still decrypt to something).
 */
export async function storeWithSecretTool(env: NodeJS.ProcessEnv, label: string, attributes: Record<string, string>, secret: string): Promise<RunResult> {
  const args = ['store', `--label=${label}`, ...Object.entries(attributes).flat()]
  for (let attempt = 1; ; attempt++) {
    const res = await secretTool(args, env, secret)
    if (res.code !== 0 || (await readSecret(env, attributes)) === secret) return res
    if (attempt === ATTEMPTS) return {...res, code: 1, stderr: `${res.stderr}secret-tool store left a different secret ${ATTEMPTS} times\n`}
  }
}

/** A round trip through secret-tool: only reading a secret back proves the service is usable. */
export async function probeWithSecretTool(env: NodeJS.ProcessEnv): Promise<void> {
  const attributes = {'mxtok-probe': 'x'}
  const secret = `probe-${process.pid}-${Date.now()}`
  const store = await storeWithSecretTool(env, 'mxtok probe', attributes, secret)
  if (store.code !== 0) throw new Error(`secret-tool store failed (${store.code}): ${store.stderr.trim()}`)
  let lookup: RunResult
  let attempt = 0
  do lookup = await secretTool(['lookup', 'mxtok-probe', 'x'], env)
  while (lookup.stdout !== secret && ++attempt < ATTEMPTS)
  if (lookup.stdout !== secret) throw new Error(`secret-tool lookup did not return the probe secret (${lookup.code}): ${lookup.stderr.trim()}`)
  await secretTool(['clear', 'mxtok-probe', 'x'], env)
}
