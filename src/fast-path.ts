import {list} from './cli/actions/list.js'
import {printJson, processIo, warnLine} from './cli/io.js'
import {reportError} from './cli/report-error.js'
import {writeLines} from './output/terminal.js'
import type {Deps} from './core/deps.js'
import {configDir} from './registry/config-dir.js'
import {SessionRegistry} from './registry/registry.js'

/**
 * Loading oclif is most of a command's start-up. `list --offline`, which scripts and shell
 * prompts run often and which has no flag parsing to speak of, is answered here without it,
 * loading only the registry. Returns false for anything else.
 */
export async function fastPath(argv: string[]): Promise<boolean> {
  if (argv.length === 2 && argv[0] === '__complete' && argv[1] === 'sessions') {
    await completeSessions()
    return true
  }
  const [command, ...flags] = argv
  const known = new Set(['--offline', '--json'])
  if (command !== 'list' || !flags.includes('--offline') || !flags.every((f) => known.has(f)) || new Set(flags).size !== flags.length) return false

  const json = flags.includes('--json')
  const offline = () => {
    throw new Error('no network or keychain access in offline mode')
  }
  const deps: Deps = {registry: new SessionRegistry(configDir(), warnLine), store: offline, client: offline, oauth: offline, discover: offline, now: () => new Date(), warn: () => {}}
  try {
    const result = await list({flags: {offline: true}}, processIo({json, deps: () => deps}))
    if (json) printJson(result)
  } catch (error) {
    reportError(error, json)
  }
  return true
}

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
