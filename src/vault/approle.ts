import {usageError} from '../errors.js'
import {readFileBounded, SMALL_FILE_BYTES} from '../fs/read-bounded.js'
import {VaultError} from './errors.js'
import {callVault, serverErrors, type VaultEndpoint} from './request.js'

export interface AppRoleLogin {
  token: string
  /** Seconds the token is valid for; renew-self at about two thirds of it. */
  leaseDuration: number
  renewable: boolean
  origin: string
}

/** The role ID is an identifier, set in the environment; the secret ID only ever comes from a file. */
export const appRoleRequested = (env: NodeJS.ProcessEnv): boolean => Boolean(env.MXTOK_VAULT_ROLE_ID)

/**
 * POST auth/<mount>/login with MXTOK_VAULT_ROLE_ID and the secret ID read from the file named by
 * MXTOK_VAULT_SECRET_ID_FILE (a role without bound secret IDs needs none); the mount is
 * MXTOK_VAULT_APPROLE_PATH, default `approle`. The token lives in memory for this run only.
 */
export async function appRoleLogin(endpoint: VaultEndpoint, env: NodeJS.ProcessEnv): Promise<AppRoleLogin> {
  const roleId = env.MXTOK_VAULT_ROLE_ID?.trim()
  if (!roleId) throw usageError('MXTOK_VAULT_ROLE_ID is empty; set it to the AppRole role ID')
  const mount = (env.MXTOK_VAULT_APPROLE_PATH || 'approle').replace(/^\/+|\/+$/g, '')
  const body: Record<string, string> = {role_id: roleId}
  const secretFile = env.MXTOK_VAULT_SECRET_ID_FILE
  if (secretFile) body.secret_id = readSecretId(secretFile)
  const path = `auth/${mount.split('/').map(encodeURIComponent).join('/')}/login`
  const host = endpoint.settings.address.host
  const answer = await callVault(endpoint, {method: 'POST', path, body, capability: 'update', answers: [400]})
  if (answer.status === 400) {
    throw new VaultError(
      'badToken',
      400,
      `OpenBao/Vault at ${host} refused the AppRole login at ${path} (${serverErrors(answer.body) || 'HTTP 400'}); check MXTOK_VAULT_ROLE_ID and the secret ID in ${secretFile ?? '(no MXTOK_VAULT_SECRET_ID_FILE)'}`,
    )
  }
  const auth = (answer.body.auth ?? {}) as Record<string, unknown>
  if (typeof auth.client_token !== 'string' || !auth.client_token) {
    throw new VaultError('refused', answer.status, `OpenBao/Vault at ${host} answered the AppRole login at ${path} without a token; check the server`)
  }
  return {
    token: auth.client_token,
    leaseDuration: typeof auth.lease_duration === 'number' ? auth.lease_duration : 0,
    renewable: auth.renewable === true,
    origin: `AppRole ${mount}`,
  }
}

function readSecretId(path: string): string {
  let text: string
  try {
    text = readFileBounded(path, SMALL_FILE_BYTES)
  } catch (error) {
    throw usageError(
      `cannot read the AppRole secret ID from ${path} (MXTOK_VAULT_SECRET_ID_FILE): ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    )
  }
  const secretId = text.trim()
  if (!secretId) throw usageError(`${path} (MXTOK_VAULT_SECRET_ID_FILE) is empty; write the AppRole secret ID into it`)
  return secretId
}
