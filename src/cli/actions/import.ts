import {importSession} from '../../core/import-session.js'
import {plainHttpAllowed} from '../../matrix/http.js'
import type {StoreKind} from '../../store/store-kinds.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'
import {readTokenInput} from '../token-input.js'
import {type CreateJson, showSession} from './create.js'

export type ImportJson = CreateJson

export interface ImportInput {
  args: {name: string}
  flags: {'token-stdin'?: boolean; homeserver?: string; user?: string; 'allow-http'?: boolean; store: string}
}

export async function importToken({args, flags}: ImportInput, io: Io): Promise<Outcome<ImportJson>> {
  const s = await importSession(
    {
      name: args.name,
      token: () => readTokenInput({tokenStdin: flags['token-stdin'] === true, stdin: io.stdin, stderr: io.stderr, prompt: `Access token for "${args.name}": `}),
      homeserver: flags.homeserver,
      user: flags.user,
      allowHttp: flags['allow-http'] || plainHttpAllowed(io.env),
      store: flags.store as StoreKind,
    },
    io.deps(),
  )
  return done(showSession('Imported', s, io))
}
