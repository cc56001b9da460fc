import {importSession} from '../../core/import-session.js'
import type {importCommand} from '../commands/import.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'
import {readTokenInput} from '../token-input.js'
import {type CreateJson, showSession} from './create.js'

export type ImportJson = CreateJson

export async function importToken({args, flags}: Pick<Input<typeof importCommand>, 'args' | 'flags'>, io: Io): Promise<Outcome<ImportJson>> {
  const s = await importSession(
    {
      name: args.name,
      token: () => readTokenInput({tokenStdin: flags['token-stdin'] === true, stdin: io.stdin, stderr: io.stderr, prompt: `Access token for "${args.name}": `}),
      homeserver: flags.homeserver,
      user: flags.user,
      store: flags.store,
    },
    io.deps(),
  )
  return done(showSession('Imported', s, io))
}
