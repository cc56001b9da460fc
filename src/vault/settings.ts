import {readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {usageError} from '../errors.js'
import {PEM_FILE_BYTES, readFileBounded} from '../fs/read-bounded.js'
import type {TlsSettings} from '../matrix/transport.js'

/** Where the bao and vault CLIs connect when no variable says: their own default. */
export const DEFAULT_ADDRESS = 'https://127.0.0.1:8200'

/**
 * A variable of the bao/vault CLIs by its name without prefix ('ADDR' for BAO_ADDR/VAULT_ADDR).
 * BAO_* wins over VAULT_* whenever it is set, even to the empty string, as OpenBao's own client
 * reads them (api/env.go); callers then treat empty as unset.
 */
export function baoVariable(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const bao = env[`BAO_${name}`]
  return bao !== undefined ? bao : env[`VAULT_${name}`]
}

/** The same, with the empty string as unset. */
export const baoSetting = (env: NodeJS.ProcessEnv, name: string): string | undefined => baoVariable(env, name) || undefined

/** How to reach the server, read from the environment as the bao/vault CLIs read it. */
export interface VaultSettings {
  address: URL
  /** X-Vault-Namespace on every request (Vault Enterprise, OpenBao namespaces). */
  namespace?: string
  /** Undefined: the defaults of node:https (the system's roots, no client certificate). */
  tls?: TlsSettings
}

/**
 * BAO_AGENT_ADDR (an agent or proxy on this machine) wins over BAO_ADDR, as in the CLIs. Files
 * are read here, once: BAO_CACERT (a PEM file, which replaces the system's roots) before
 * BAO_CAPATH (a directory of them), BAO_CLIENT_CERT with BAO_CLIENT_KEY, BAO_TLS_SERVER_NAME,
 * BAO_SKIP_VERIFY (true/false as Go parses it).
 */
export function readVaultSettings(env: NodeJS.ProcessEnv): VaultSettings {
  const address = parseAddress(baoSetting(env, 'AGENT_ADDR') ?? baoSetting(env, 'ADDR') ?? DEFAULT_ADDRESS)
  const namespace = baoSetting(env, 'NAMESPACE')
  const tls: TlsSettings = {}
  const caFile = baoSetting(env, 'CACERT')
  const caPath = baoSetting(env, 'CAPATH')
  if (caFile) tls.ca = certificatesIn(readSetting('CACERT', caFile), 'CACERT', caFile)
  else if (caPath) tls.ca = caDirectory(caPath)
  const cert = baoSetting(env, 'CLIENT_CERT')
  const key = baoSetting(env, 'CLIENT_KEY')
  if ((cert === undefined) !== (key === undefined)) {
    throw usageError(
      `${cert ? 'BAO_CLIENT_CERT is set without BAO_CLIENT_KEY' : 'BAO_CLIENT_KEY is set without BAO_CLIENT_CERT'}; set both (or VAULT_CLIENT_CERT and VAULT_CLIENT_KEY), or neither`,
    )
  }
  if (cert && key) {
    tls.cert = readSetting('CLIENT_CERT', cert)
    tls.key = readSetting('CLIENT_KEY', key)
  }
  const servername = baoSetting(env, 'TLS_SERVER_NAME')
  if (servername) tls.servername = servername
  const skipVerify = baoSetting(env, 'SKIP_VERIFY')
  if (skipVerify !== undefined && goBool(skipVerify, 'SKIP_VERIFY')) tls.rejectUnauthorized = false
  return {address, namespace, tls: Object.keys(tls).length > 0 ? tls : undefined}
}

function parseAddress(text: string): URL {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw usageError(`BAO_ADDR (or VAULT_ADDR) is not a URL; set it to the server's address, e.g. https://vault.example.com:8200`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw usageError(`BAO_ADDR (or VAULT_ADDR) must be an https:// or http:// address, not ${url.protocol}// (unix sockets are not supported)`)
  }
  if (url.search || url.hash || url.username || url.password) {
    throw usageError('BAO_ADDR (or VAULT_ADDR) must be a plain address, without a query, a fragment or credentials')
  }
  // Requests go to <address>/v1/...: a path in the address (a reverse proxy's prefix) is kept.
  url.pathname = url.pathname.replace(/\/+$/, '')
  return url
}

/** strconv.ParseBool: the spellings Go accepts, anything else an error as in the CLIs. */
function goBool(text: string, name: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false
  throw usageError(`BAO_${name} (or VAULT_${name}) is neither true nor false; set it to true or false`)
}

function readSetting(name: string, path: string): string {
  try {
    return readFileBounded(path, PEM_FILE_BYTES)
  } catch (error) {
    throw usageError(`cannot read ${path}, named by BAO_${name} (or VAULT_${name}): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`)
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

function certificatesIn(text: string, name: string, path: string): string[] {
  const certificates = text.match(PEM_CERTIFICATE) ?? []
  if (certificates.length === 0) throw usageError(`${path}, named by BAO_${name} (or VAULT_${name}), holds no PEM certificate`)
  return certificates
}

/** The system's own CA directory holds a few hundred; a directory of many more is not one. */
const MAX_CA_FILES = 5000

/** Every file under the directory, as the CLIs walk it; files without a certificate are an error there too. */
function caDirectory(dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir, {recursive: true, encoding: 'utf8'})
  } catch (error) {
    throw usageError(
      `cannot read the directory ${dir}, named by BAO_CAPATH (or VAULT_CAPATH): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    )
  }
  const files = names.map((name) => join(dir, name)).filter((path) => statSync(path, {throwIfNoEntry: false})?.isFile())
  if (files.length === 0) throw usageError(`${dir}, named by BAO_CAPATH (or VAULT_CAPATH), holds no certificate file`)
  if (files.length > MAX_CA_FILES)
    throw usageError(`${dir}, named by BAO_CAPATH (or VAULT_CAPATH), holds more than ${MAX_CA_FILES} files; name a directory of CA certificates only`)
  return files.flatMap((path) => certificatesIn(readSetting('CAPATH', path), 'CAPATH', path))
}
