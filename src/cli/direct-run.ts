import {readFileSync} from 'node:fs'
import {closeHttp} from '../matrix/http.js'
import {commandDeps} from './default-deps.js'
import {printJson, processIo, type Io} from './io.js'
import {type ManifestCommand, parseByManifest, type ParsedLine} from './manifest-argv.js'
import {reportError} from './report-error.js'

type Action = (input: ParsedLine, io: Io) => Promise<unknown>

// Each oclif command class runs the same action, so both ways of starting a command behave alike.
// Not prune: its --inactive-days is an integer with a minimum, which the manifest does not record.
const ACTIONS: Record<string, {load: () => Promise<Action>; rest?: true}> = {
  create: {load: async () => (await import('./actions/create.js')).create as unknown as Action},
  doctor: {load: async () => (await import('./actions/doctor.js')).doctor as unknown as Action},
  exec: {load: async () => (await import('./actions/exec.js')).exec as unknown as Action, rest: true},
  import: {load: async () => (await import('./actions/import.js')).importToken as unknown as Action},
  list: {load: async () => (await import('./actions/list.js')).list as unknown as Action},
  move: {load: async () => (await import('./actions/move.js')).move as unknown as Action},
  rename: {load: async () => (await import('./actions/rename.js')).rename as unknown as Action},
  revoke: {load: async () => (await import('./actions/revoke.js')).revoke as unknown as Action},
  token: {load: async () => (await import('./actions/token.js')).token as unknown as Action},
  verify: {load: async () => (await import('./actions/verify.js')).verify as unknown as Action},
}

/**
 * Runs a command without loading oclif, which costs more than 100 ms of every start: the flags are
 * read from oclif.manifest.json. Returns false — and oclif runs the command — for help, for a
 * line that does not parse plainly, and for commands without an action here.
 */
export async function directRun(argv: string[], manifestFile: string): Promise<boolean> {
  const [id, ...line] = argv
  const action = ACTIONS[id]
  if (!action) return false
  let command: ManifestCommand | undefined
  try {
    command = (JSON.parse(readFileSync(manifestFile, 'utf8')) as {commands?: Record<string, ManifestCommand>}).commands?.[id]
  } catch {
    return false
  }
  const parsed = command && parseByManifest(command, line, process.env, {rest: action.rest})
  if (!parsed) return false
  const json = parsed.flags.json === true
  try {
    const result = await (await action.load())(parsed, processIo({json, deps: () => commandDeps(parsed.flags.verbose === true, parsed.flags['allow-http'] === true)}))
    if (json) printJson(result)
  } catch (error) {
    reportError(error, json)
  } finally {
    await closeHttp()
  }
  return true
}
