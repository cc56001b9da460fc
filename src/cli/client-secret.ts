import {usageError} from '../errors.js'
import type {Io} from './io.js'
import {promptHidden, readFirstLine} from './password.js'

/**
 * An admin client's secret, asked for only when the use case needs it. Like a password it never
 * comes from a flag value: --client-secret-stdin (first line, bounded as a password is), else a
 * prompt that does not echo on a terminal.
 */
export const clientSecretOf =
  (clientId: string, fromStdin: boolean, io: Io): (() => Promise<string>) =>
  async () => {
    // Surrounding spaces come with copying from a configuration file; no secret MAS generates has any.
    const secret = fromStdin
      ? (await readFirstLine(io.stdin, '--client-secret-stdin', 'client secret')).trim()
      : io.stdin.isTTY
        ? (await promptHidden(io.stdin, io.stderr, `Client secret of ${clientId}: `)).trim()
        : undefined
    if (secret === undefined) throw usageError('no client secret given: pipe it with --client-secret-stdin, or run in a terminal to be asked')
    if (!secret) throw usageError('--client-secret-stdin read an empty secret; pipe the client secret followed by a newline')
    return secret
  }
