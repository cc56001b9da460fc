import {MatrixError} from '../matrix/errors.js'
import type {Deps} from './deps.js'

/**
 * The homeserver's authorization server (its issuer, where a Matrix Authentication Service has its
 * admin API), or null when the homeserver has no next-generation auth. Nothing is sent to the issuer.
 */
export async function authIssuer(homeserver: string, deps: Deps): Promise<string | null> {
  try {
    return (await deps.oauth(homeserver).authMetadata()).issuer
  } catch (error) {
    if (error instanceof MatrixError && (error.status === 404 || error.errcode === 'M_UNRECOGNIZED')) return null
    throw error
  }
}
