import {readFileSync} from 'node:fs'
import type {Deps} from '../core/deps.js'
import {writeLines} from '../output/terminal.js'
import {configDir} from '../registry/config-dir.js'
import {SessionRegistry} from '../registry/registry.js'
import type {Io} from './io.js'
import {warnLine} from './io.js'
import {type ManifestCommand, parseByManifest, type ParsedLine} from './manifest-argv.js'
import type {Outcome} from './outcome.js'
import {runAction} from './run-action.js'

type Start = (line: ParsedLine, io: Io) => Promise<Outcome>

const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
/** Present whenever the manifest marks it required or gives it a default, which parseByManifest enforces. */
const given = (value: unknown) => text(value) ?? ''
const on = (value: unknown) => value === true
const name = (line: ParsedLine) => ({name: given(line.args.name)})

// The same actions the oclif command classes run, each reading its line as the manifest typed it.
// Imported when called: `list --offline` loads none of what the other commands need.
const COMMANDS: Record<string, {start: Start; rest?: true}> = {
  create: {
    start: async (l, io) =>
      (await import('./actions/create.js')).create(
        {
          args: name(l),
          flags: {user: given(l.flags.user), homeserver: text(l.flags.homeserver), 'device-name': text(l.flags['device-name']), 'device-id': text(l.flags['device-id']), 'password-stdin': on(l.flags['password-stdin']), oauth: on(l.flags.oauth), 'allow-http': on(l.flags['allow-http']), store: given(l.flags.store)},
        },
        io,
      ),
  },
  doctor: {start: async (l, io) => (await import('./actions/doctor.js')).doctor({flags: {store: given(l.flags.store), fix: on(l.flags.fix)}}, io)},
  exec: {start: async (l, io) => (await import('./actions/exec.js')).exec({args: name(l), argv: l.argv, rest: l.rest}, io), rest: true},
  import: {
    start: async (l, io) =>
      (await import('./actions/import.js')).importToken(
        {args: name(l), flags: {'token-stdin': on(l.flags['token-stdin']), homeserver: text(l.flags.homeserver), user: text(l.flags.user), 'allow-http': on(l.flags['allow-http']), store: given(l.flags.store)}},
        io,
      ),
  },
  list: {start: async (l, io) => (await import('./actions/list.js')).list({flags: {offline: on(l.flags.offline)}}, io)},
  move: {start: async (l, io) => (await import('./actions/move.js')).move({args: name(l), flags: {to: given(l.flags.to)}}, io)},
  prune: {
    start: async (l, io) => {
      const days = l.flags['inactive-days']
      const flags = {user: given(l.flags.user), homeserver: text(l.flags.homeserver), orphans: on(l.flags.orphans), 'inactive-days': typeof days === 'number' ? days : undefined}
      return (await import('./actions/prune.js')).prune({flags: {...flags, 'dry-run': on(l.flags['dry-run']), yes: on(l.flags.yes), 'password-stdin': on(l.flags['password-stdin']), 'allow-http': on(l.flags['allow-http'])}}, io)
    },
  },
  rename: {start: async (l, io) => (await import('./actions/rename.js')).rename({args: name(l), flags: {'device-name': given(l.flags['device-name'])}}, io)},
  revoke: {start: async (l, io) => (await import('./actions/revoke.js')).revoke({args: name(l), flags: {'local-only': on(l.flags['local-only'])}}, io)},
  token: {start: async (l, io) => (await import('./actions/token.js')).token({args: name(l)}, io)},
  verify: {start: async (l, io) => (await import('./actions/verify.js')).verify({argv: l.argv, flags: {format: text(l.flags.format)}}, io)},
}

/**
 * The one way into a command without oclif, which costs more than 100 ms of every start: the line
 * is read by the command's entry in oclif.manifest.json and its action run by runAction, as the
 * oclif command classes do. Returns false — and oclif runs — for help, for a line that does not
 * parse plainly (oclif then says what is wrong), and for what is not a command here.
 */
export async function run(argv: string[], manifestFile: string): Promise<boolean> {
  if (argv.length === 2 && argv[0] === '__complete' && argv[1] === 'sessions') {
    await completeSessions()
    return true
  }
  const [id, ...words] = argv
  const command = COMMANDS[id]
  if (!command) return false
  let entry: ManifestCommand | undefined
  try {
    entry = (JSON.parse(readFileSync(manifestFile, 'utf8')) as {commands?: Record<string, ManifestCommand>}).commands?.[id]
  } catch {
    return false
  }
  const line = entry && parseByManifest(entry, words, process.env, {rest: command.rest})
  if (!line) return false
  await runAction((io) => command.start(line, io), line.flags, id === 'list' && line.flags.offline === true ? () => offlineDeps : undefined)
  return true
}

const offline = () => {
  throw new Error('no network or keychain access in offline mode')
}
/** `list --offline`: the registry alone, so that scripts and shell prompts can run it often. */
const offlineDeps: Deps = {registry: new SessionRegistry(configDir(), warnLine), store: offline, client: offline, oauth: offline, discover: offline, now: () => new Date(), warn: () => {}}

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
