import {readFileSync} from 'node:fs'
import type {Deps} from '../core/deps.js'
import {writeLines} from '../output/terminal.js'
import {configDir} from '../registry/config-dir.js'
import {SessionRegistry} from '../registry/registry.js'
import {list} from './actions/list.js'
import {warnLine} from './io.js'
import {type ManifestCommand, parseByManifest} from './manifest-argv.js'
import {runAction} from './run-action.js'

/**
 * The one way into a command without oclif, which costs more than 100 ms of every start: the line
 * is read by the command's entry in oclif.manifest.json and its action run by runAction, as the
 * oclif command classes do. Returns false — and oclif runs — for help, for a line that does not
 * parse plainly (oclif then says what is wrong), and for what is not a command here.
 *
 * This file holds only what `list --offline` and completion need, which scripts and shell prompts
 * run often; every other command is in line-actions.ts, a file of its own (dist/line-actions.cjs)
 * loaded when one runs: loading it for these would take about twice their start-up.
 */
export async function run(argv: string[], manifestFile: string): Promise<boolean> {
  if (argv.length === 2 && argv[0] === '__complete' && argv[1] === 'sessions') {
    await completeSessions()
    return true
  }
  const [id, ...words] = argv
  let entry: ManifestCommand | undefined
  try {
    entry = (JSON.parse(readFileSync(manifestFile, 'utf8')) as {commands?: Record<string, ManifestCommand>}).commands?.[id]
  } catch {
    return false
  }
  // exec takes what follows "--" as a command line of its own.
  const line = entry && parseByManifest(entry, words, process.env, {rest: id === 'exec'})
  if (!line) return false
  if (id === 'list' && line.flags.offline === true) {
    await runAction((io) => list({flags: {offline: true}}, io), {json: line.flags.json === true, deps: offlineDeps})
    return true
  }
  return (await import('./line-actions.js')).runLine(id, line)
}

const unavailable = () => {
  throw new Error('no network or keychain access in offline mode')
}
/** `list --offline`: the registry alone, so that scripts and shell prompts can run it often. */
const offlineDeps = (): Deps => ({registry: new SessionRegistry(configDir(), warnLine), store: unavailable, client: unavailable, oauth: unavailable, discover: unavailable, now: () => new Date(), warn: () => {}})

/**
 * The session names, one a line, for the shell completion scripts, which ask at each TAB. Silent
 * on any failure: a completion that prints an error would paste it into the command line.
 */
async function completeSessions(): Promise<void> {
  try {
    const sessions = await new SessionRegistry(configDir(), () => {}).list()
    writeLines(process.stdout, sessions.map((s) => s.name))
  } catch {
    // Nothing to offer.
  }
}
