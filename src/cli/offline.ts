import type {Deps} from '../core/deps.js'
import {writeLines} from '../output/terminal.js'
import {configDir} from '../registry/config-dir.js'
import {SessionRegistry} from '../registry/registry.js'
import {list} from './actions/list.js'
import type {CommandId} from './commands/index.js'
import {warnLine} from './io.js'
import type {ParsedLine} from './parse-line.js'
import {runAction} from './run-action.js'
import {runOptions} from './run-options.js'

// What the runner (runner.ts) answers with the registry alone: the lines a declaration marks
// `offline`. Built as a file of its own, dist/offline.cjs, with none of the network or keychain
// code that the other commands load.

const unavailable = () => {
  throw new Error('no network or keychain access in offline mode')
}
const offlineDeps = (): Deps => ({
  registry: new SessionRegistry(configDir(), warnLine),
  store: unavailable,
  client: unavailable,
  oauth: unavailable,
  masAdmin: unavailable,
  discover: unavailable,
  now: () => new Date(),
  // Offline lines journal no login.
  self: {by: 'offline@localhost', pid: process.pid, requestMs: 0},
  warn: () => {},
})

/**
 * The session names, one a line, for the shell completion scripts, which ask at each TAB. Silent
 * on any failure: a completion that prints an error would paste it into the command line.
 */
export async function completeSessions(): Promise<void> {
  try {
    const sessions = await new SessionRegistry(configDir(), () => {}).list()
    writeLines(
      process.stdout,
      sessions.map((s) => s.name),
    )
  } catch {
    // Nothing to offer.
  }
}

/** `list --offline`: the registry alone, so that scripts and shell prompts can run it often. False for a command with no offline line. */
export async function runOffline(id: CommandId, line: ParsedLine): Promise<boolean> {
  if (id !== 'list') return false
  await runAction((io) => list({flags: {offline: true}}, io), {json: runOptions(line.flags, process.env).json, deps: offlineDeps})
  return true
}
