import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {isAbsolute, join, resolve} from 'node:path'
import {usageError} from '../errors.js'
import {readFileBounded, SMALL_FILE_BYTES} from '../fs/read-bounded.js'
import {VaultError} from './errors.js'
import {baoSetting} from './settings.js'

/** Where the token came from, for doctor and for messages; never the token. */
export type TokenOrigin = 'BAO_TOKEN' | 'VAULT_TOKEN' | `token helper ${string}` | `token file ${string}`

export interface FoundToken {
  token: string
  origin: TokenOrigin
}

const HELPER_TIMEOUT_MS = 10_000

/**
 * The token the bao/vault CLIs would use, in their order: BAO_TOKEN (or VAULT_TOKEN); else the
 * token helper named by `token_helper` in the CLI's config file, run with `get`; else the token
 * file (BAO_TOKEN_PATH, default ~/.vault-token). Undefined when none of them has one.
 *
 * The config file is BAO_CONFIG_PATH (or VAULT_CONFIG_PATH); without either, ~/.bao, which the bao
 * CLI reads, or else ~/.vault, which the vault CLI reads.
 */
export async function findToken(env: NodeJS.ProcessEnv, address: URL): Promise<FoundToken | undefined> {
  const fromEnv = baoSetting(env, 'TOKEN')
  if (fromEnv) return checked({token: fromEnv, origin: env.BAO_TOKEN !== undefined ? 'BAO_TOKEN' : 'VAULT_TOKEN'})
  const home = env.HOME || homedir()
  const helper = tokenHelper(env, home)
  if (helper) {
    const token = (await runHelper(helper, env, address)).trim()
    return token ? checked({token, origin: `token helper ${helper}`}) : undefined
  }
  const file = baoSetting(env, 'TOKEN_PATH') ?? join(home, '.vault-token')
  let text: string
  try {
    text = readFileBounded(file, SMALL_FILE_BYTES)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw usageError(`cannot read the token file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  const token = text.trim()
  return token ? checked({token, origin: `token file ${file}`}) : undefined
}

/** The helper's absolute path, or undefined when the config file names none (or does not exist). */
export function tokenHelper(env: NodeJS.ProcessEnv, home: string): string | undefined {
  const configured = baoSetting(env, 'CONFIG_PATH')
  const candidates = configured ? [expandHome(configured, home)] : [join(home, '.bao'), join(home, '.vault')]
  const file = candidates.find((path) => existsSync(path))
  if (!file) return undefined
  let text: string
  try {
    text = readFileBounded(file, SMALL_FILE_BYTES)
  } catch (error) {
    throw usageError(`cannot read ${file}, the bao/vault CLI's config: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
  const named = tokenHelperSetting(text)
  if (named === undefined) return undefined
  // The CLIs resolve a relative path against the working directory and insist that it exists.
  const path = isAbsolute(named) ? named : resolve(named)
  if (!existsSync(path)) throw usageError(`the token helper ${path}, named in ${file}, does not exist; fix token_helper there, or set BAO_TOKEN`)
  return path
}

/** `token_helper = "…"` in HCL, or `"token_helper": "…"` in JSON, the two forms the CLIs accept. */
export function tokenHelperSetting(config: string): string | undefined {
  const m = /^\s*[{,]?\s*"?token_helper"?\s*[=:]\s*"((?:[^"\\]|\\.)*)"/m.exec(config)
  if (!m) return undefined
  const value = m[1].replace(/\\(.)/g, '$1')
  return value || undefined
}

const expandHome = (path: string, home: string) => (path === '~' || path.startsWith('~/') ? join(home, path.slice(1)) : path)

/**
 * As the CLIs run it: `$SHELL -c "<helper> get"` (so the setting may carry arguments), with
 * BAO_ADDR and VAULT_ADDR set to the address in use. mxtok's own variables (a password, a
 * passphrase) are left out of its environment.
 */
function runHelper(helper: string, env: NodeJS.ProcessEnv, address: URL): Promise<string> {
  const childEnv: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(env)) if (!key.startsWith('MXTOK_')) childEnv[key] = value
  const addr = address.href.replace(/\/$/, '')
  Object.assign(childEnv, {BAO_ADDR: addr, VAULT_ADDR: addr})
  const shell = env.SHELL || '/bin/sh'
  return new Promise((resolvePromise, reject) => {
    execFile(
      shell,
      ['-c', `${helper.replace(/\\/g, '\\\\')} get`],
      {env: childEnv, timeout: HELPER_TIMEOUT_MS, maxBuffer: 64 * 1024, encoding: 'utf8'},
      (error, stdout, stderr) => {
        if (!error) return resolvePromise(stdout)
        const said = stderr.trim().split('\n')[0]?.slice(0, 200)
        const why = error.killed ? `did not finish within ${HELPER_TIMEOUT_MS / 1000} s` : `failed (${error.code ?? error.signal})${said ? `: ${said}` : ''}`
        reject(new VaultError('badToken', 0, `the token helper ${helper} ${why}; fix it, or set BAO_TOKEN`, {cause: error}))
      },
    )
  })
}

/** A token with a control character would be refused by the server, or split a header here. */
function checked(found: FoundToken): FoundToken {
  if (/[\u0000-\u001f\u007f]/.test(found.token)) throw usageError(`the token from ${found.origin} contains a control character; set it again`)
  return found
}
