import {commandContext} from './command-context.js'
import type {Io} from './io.js'
import type {ParsedLine} from './manifest-argv.js'
import type {Outcome} from './outcome.js'
import {runAction} from './run-action.js'

type Start = (line: ParsedLine, io: Io) => Promise<Outcome>

const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
/** Present whenever the manifest marks it required or gives it a default, which parseByManifest enforces. */
const given = (value: unknown) => text(value) ?? ''
const on = (value: unknown) => value === true
const name = (line: ParsedLine) => ({name: given(line.args.name)})

// The same actions the oclif command classes run, each given its line as the manifest typed it.
const lineActions: Record<string, Start> = {
  create: async (l, io) =>
    (await import('./actions/create.js')).create(
      {
        args: name(l),
        flags: {
          user: given(l.flags.user),
          homeserver: text(l.flags.homeserver),
          'device-name': text(l.flags['device-name']),
          'device-id': text(l.flags['device-id']),
          'password-stdin': on(l.flags['password-stdin']),
          oauth: on(l.flags.oauth),
          'allow-http': on(l.flags['allow-http']),
          store: given(l.flags.store),
          as: text(l.flags.as),
          expires: text(l.flags.expires),
        },
      },
      io,
    ),
  doctor: async (l, io) => (await import('./actions/doctor.js')).doctor({flags: {store: given(l.flags.store), fix: on(l.flags.fix)}}, io),
  exec: async (l, io) => (await import('./actions/exec.js')).exec({args: name(l), argv: l.argv, rest: l.rest}, io),
  import: async (l, io) =>
    (await import('./actions/import.js')).importToken(
      {
        args: name(l),
        flags: {
          'token-stdin': on(l.flags['token-stdin']),
          homeserver: text(l.flags.homeserver),
          user: text(l.flags.user),
          'allow-http': on(l.flags['allow-http']),
          store: given(l.flags.store),
        },
      },
      io,
    ),
  list: async (l, io) => (await import('./actions/list.js')).list({flags: {offline: on(l.flags.offline)}}, io),
  move: async (l, io) => (await import('./actions/move.js')).move({args: name(l), flags: {to: given(l.flags.to)}}, io),
  prune: async (l, io) => {
    const days = l.flags['inactive-days']
    const keep = l.flags.keep
    const flags = {
      user: given(l.flags.user),
      homeserver: text(l.flags.homeserver),
      orphans: on(l.flags.orphans),
      'never-seen': on(l.flags['never-seen']),
      'inactive-days': typeof days === 'number' ? days : undefined,
      keep: typeof keep === 'number' ? keep : undefined,
      as: text(l.flags.as),
    }
    return (await import('./actions/prune.js')).prune(
      {
        flags: {
          ...flags,
          'dry-run': on(l.flags['dry-run']),
          yes: on(l.flags.yes),
          'password-stdin': on(l.flags['password-stdin']),
          'allow-http': on(l.flags['allow-http']),
        },
      },
      io,
    )
  },
  rename: async (l, io) => (await import('./actions/rename.js')).rename({args: name(l), flags: {'device-name': given(l.flags['device-name'])}}, io),
  revoke: async (l, io) => (await import('./actions/revoke.js')).revoke({args: name(l), flags: {'local-only': on(l.flags['local-only'])}}, io),
  token: async (l, io) => (await import('./actions/token.js')).token({args: name(l)}, io),
  verify: async (l, io) =>
    (await import('./actions/verify.js')).verify(
      {argv: l.argv, flags: {format: text(l.flags.format), 'expiring-within': text(l.flags['expiring-within'])}},
      io,
    ),
}

/**
 * Runs the command of a line the runner (runner.ts) read, in a real run's context; false when it is
 * not one of these. Built as a file of its own, dist/line-actions.cjs, which holds everything the
 * run uses: one copy of the HTTP pool, closed at the end, and of the error classes that
 * reportError tells apart.
 */
export async function runLine(id: string, line: ParsedLine): Promise<boolean> {
  const start = lineActions[id]
  if (!start) return false
  await runAction((io) => start(line, io), commandContext(line.flags))
  return true
}
