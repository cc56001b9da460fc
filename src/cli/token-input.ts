import {usageError} from '../errors.js'
import {promptHidden, readFirstLine} from './password.js'

export interface TokenSources {
  tokenStdin: boolean
  stdin: NodeJS.ReadStream
  stderr: NodeJS.WriteStream
  prompt: string
}

/** Like the password, a token never comes from a flag value: --token-stdin (first line), else a prompt that does not echo. */
export async function readTokenInput(src: TokenSources): Promise<string> {
  // Surrounding spaces come with copying from a web page; no token contains any.
  const token = src.tokenStdin
    ? (await readFirstLine(src.stdin, '--token-stdin', 'token')).trim()
    : src.stdin.isTTY
      ? (await promptHidden(src.stdin, src.stderr, src.prompt)).trim()
      : undefined
  if (token === undefined) throw usageError('no token given: pipe it with --token-stdin, or run in a terminal to paste it')
  if (!token)
    throw usageError('the token is empty; pipe it in with --token-stdin, e.g. printf \'%s\\n\' "$TOKEN" | mxtok import NAME --token-stdin --homeserver URL')
  return token
}
