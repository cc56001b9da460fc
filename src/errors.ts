/**
 * Exit codes are a documented contract (README "Exit codes"): scripts branch on them,
 * so they never change meaning. The same code is used with and without --json.
 */
export const ExitCode = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  loginRefused: 3,
  tokenInvalid: 4,
  homeserver: 5,
  // The OS keychain cannot be used (missing, locked, not answering).
  keychain: 6,
  // Any other secret store cannot be used (the encrypted file: passphrase wrong or missing, file damaged). The same code as the keychain's: scripts ask whether the store works, not which one.
  store: 6,
  // The registry or its directory: damaged, of an unknown format, writable by other users, or
  // locked by another run past the timeout; or a device another run is logging in to (its journal
  // entry's lease, src/core/lease.ts), refused before any request.
  config: 7,
  // The config directory cannot be written (full, read-only, not ours): not a bug, and nothing the server or store did.
  disk: 8,
  // The OpenBao/Vault server holding the sessions (MXTOK_VAULT): sealed, without a leader or
  // unreachable past the retries, refusing the token, or a policy without a capability mxtok needs.
  // One code, as 5 is one for a homeserver down or answering wrongly: it says which system to look
  // at, and the line says what is wrong with it (a sealed engine, for one, needs a person too).
  vault: 9,
  // A homeserver went on rate-limiting past what mxtok waits in all (RATE_LIMIT_BUDGET_MS, 180 s): trying later may work.
  rateLimited: 10,
  // Only `mxtok exec`, and the same as shells, so a wrapper script reads like the command it wraps.
  commandNotExecutable: 126,
  commandNotFound: 127,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** The kinds of failure a user can act on; each maps to one exit code. */
export type ErrorKind = Exclude<keyof typeof ExitCode, 'ok'>

/**
 * An error meant for a person: `message` is one line saying what happened and what to do.
 * It never carries a token or a password.
 */
export class MxtokError extends Error {
  readonly kind: ErrorKind

  constructor(kind: ErrorKind, message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'MxtokError'
    this.kind = kind
  }

  /** The same failure, saying what was being done: `context` follows the message (with its own separator), the original stays as `cause`. */
  withContext(context: string): MxtokError {
    return new MxtokError(this.kind, `${this.message}${context}`, {cause: this})
  }

  get exitCode(): ExitCode {
    return ExitCode[this.kind]
  }
}

export const usageError = (message: string) => new MxtokError('usage', message)

/** For the `default` of a switch over a union: a case left out is a compile error, and a value from outside the type an unexpected one. */
export function assertNever(value: never, what: string): never {
  throw new MxtokError('unexpected', `unknown ${what}: ${String(JSON.stringify(value)).slice(0, 40)}`)
}
