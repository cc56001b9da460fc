import {MxtokError} from '../errors.js'
import {promptHidden} from './password.js'

/** The file store's passphrase: MXTOK_PASSPHRASE, else a prompt that does not echo; asked once per run. */
export function passphraseSource(env: NodeJS.ProcessEnv, stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream, path: () => string): () => Promise<string> {
  let asked: Promise<string> | undefined
  return () => {
    asked ??= (async () => {
      if (env.MXTOK_PASSPHRASE) return env.MXTOK_PASSPHRASE
      if (stdin.isTTY) return promptHidden(stdin, stderr, `Passphrase for ${path()}: `)
      throw new MxtokError('store', 'the file store needs its passphrase: set MXTOK_PASSPHRASE, or run in a terminal to be asked')
    })()
    return asked
  }
}
