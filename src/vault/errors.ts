import {MxtokError} from '../errors.js'

/**
 * Why a request to the OpenBao/Vault server failed, for callers to branch on (never the message):
 * - sealed, noLeader: the server or its cluster cannot serve now (503, or a standby's 500), after retrying
 * - unreachable: no answer at all (refused, reset, timed out, TLS), after retrying
 * - denied: 403 on a path, the token being valid (the message names the path and the capability)
 * - badToken: no token, or one the server does not know (expired, revoked)
 * - casMismatch: a check-and-set write whose version was not the current one (CasMismatch)
 * - notFound: 404 where something must exist
 * - refused: any other answer that is not a success (400, 405, 412, 429 past the retries ...)
 */
export type VaultFailure = 'sealed' | 'noLeader' | 'unreachable' | 'denied' | 'badToken' | 'casMismatch' | 'notFound' | 'refused'

/** The one error of the OpenBao/Vault client; its exit code is 9 whatever the reason. */
export class VaultError extends MxtokError {
  readonly reason: VaultFailure
  /** HTTP status, or 0 when no answer came. */
  readonly status: number

  constructor(reason: VaultFailure, status: number, message: string, options?: {cause?: unknown}) {
    super('vault', message, options)
    this.name = 'VaultError'
    this.reason = reason
    this.status = status
  }
}

/**
 * A check-and-set write lost to another writer (HTTP 400): the secret is at another version than
 * the one the write was based on. The caller re-reads and decides; retrying blindly would undo the
 * other writer's change.
 */
export class CasMismatch extends VaultError {
  readonly path: string
  /** The version the write expected to replace (0: that the secret did not exist). */
  readonly expected: number

  constructor(host: string, path: string, expected: number) {
    const what = expected === 0 ? 'it already exists' : `it is no longer at version ${expected}`
    super('casMismatch', 400, `${path} on ${host} was changed by someone else meanwhile (${what}); nothing was written — run the command again`)
    this.name = 'CasMismatch'
    this.path = path
    this.expected = expected
  }
}
