// The runner that skips oclif must read every line it accepts exactly as oclif would, and leave
// the rest to oclif: both are fed from the same declarations (src/cli/commands), and compared over
// many generated command lines.
import * as Flags from '@oclif/core/flags'
import {parse} from '@oclif/core/parser'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {commandById, commands, type DeclaredCommand} from '../../src/cli/commands/index.js'
import {oclifDefinition} from '../../src/cli/oclif-command.js'
import {parseLine} from '../../src/cli/parse-line.js'

const declared = (id: string): DeclaredCommand => {
  const command = commandById(id)
  if (!command) throw new Error(`no command ${id}`)
  return command
}

/** What oclif's parser makes of the line, given the command as commandClass gives it to oclif; undefined when it refuses the line. */
async function oclifReads(command: DeclaredCommand, line: string[], env: Record<string, string>) {
  const saved = {...process.env}
  Object.assign(process.env, env)
  try {
    const cls = oclifDefinition(command)
    const flags = {...cls.baseFlags, ...cls.flags, ...(cls.enableJsonFlag ? {json: Flags.boolean()} : {})}
    const out = await parse(line, {flags, args: cls.args, strict: cls.strict} as Parameters<typeof parse>[1])
    return {args: out.args, flags: out.flags, argv: out.argv}
  } catch {
    return undefined
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k]
    Object.assign(process.env, saved)
  }
}

const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))

const words = [
  'bot',
  'two',
  '--user',
  '-u',
  '@a:b.c',
  '--user=@x:y.z',
  '--homeserver',
  'https://h.example',
  '--password-stdin',
  '--oauth',
  '--no-oauth',
  '--json',
  '--verbose',
  '--store',
  'file',
  'keychain',
  'other',
  '--store=file',
  '--store=',
  '--offline',
  '--local-only',
  '--device-id',
  'D1',
  '--device-name',
  '--to',
  '--fix',
  '--token-stdin',
  '--inactive-days',
  '--inactive-days=0',
  '--inactive-days=7',
  '1',
  '0',
  '-3',
  '90x',
  '--keep',
  '--keep=0',
  '--orphans',
  '--as',
  'admin',
  '--expires',
  '30d',
  '--format',
  'prometheus',
  '--expiring-within',
  '--script',
  'bash',
  'tcsh',
  '--dry-run',
  '-y',
  '-x',
  '--help',
  '-h',
  '--',
  'sh',
  '-c',
  '',
]
// Random lines, and random additions to a line that is valid, so that both kinds are compared.
const valid: Record<string, string[]> = {
  create: ['bot', '--user', '@a:b.c'],
  exec: ['bot', '--', 'sh'],
  doctor: [],
  move: ['bot', '--to', 'file'],
  rename: ['bot', '--device-name', 'x'],
  prune: ['--user', '@a:b.c'],
  list: [],
  verify: ['bot', 'two'],
  autocomplete: ['bash', '--script'],
}
const lines = (id: string) =>
  fc.oneof(
    fc.array(fc.constantFrom(...words), {maxLength: 7}),
    fc.tuple(fc.array(fc.constantFrom(...words), {maxLength: 4}), fc.nat()).map(([extra, at]) => {
      const base = valid[id] ?? ['bot']
      const i = at % (base.length + 1)
      return [...base.slice(0, i), ...extra, ...base.slice(i)]
    }),
  )
const envs: Record<string, string>[] = [{}, {MXTOK_STORE: 'file'}, {MXTOK_STORE: 'bogus'}]

describe('parseLine', () => {
  it.each(commands.map((c) => c.id))('reads %s lines as oclif does, or leaves them to oclif', async (id) => {
    const command = declared(id)
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(lines(id), fc.constantFrom(...envs), async (line, env) => {
        const direct = parseLine(command, line, env)
        if (!direct) return
        accepted++
        // A command that takes a line after "--" (exec) hands oclif only what comes before it, as commandClass does.
        const dashes = line.indexOf('--')
        const oclif = await oclifReads(command, command.rest && dashes >= 0 ? line.slice(0, dashes) : line, env)
        expect(oclif, `oclif refuses ${JSON.stringify(line)} with ${JSON.stringify(env)}`).toBeDefined()
        expect(defined(direct.flags)).toEqual(defined(oclif!.flags))
        expect(defined(direct.args)).toEqual(defined(oclif!.args))
        expect(direct.argv).toEqual(oclif!.argv)
      }),
      {numRuns: 600},
    )
    expect(accepted, 'some lines must be accepted, or the comparison proves nothing').toBeGreaterThan(20)
  })

  it('reads a typical create line, with the env default for --store', () => {
    const line = ['bot', '--user', '@bot:example.com', '--homeserver', 'https://hs.example', '--password-stdin', '--json']
    expect(parseLine(declared('create'), line, {MXTOK_STORE: 'file'})).toEqual({
      args: {name: 'bot'},
      flags: {user: '@bot:example.com', homeserver: 'https://hs.example', 'password-stdin': true, json: true, store: 'file'},
      argv: ['bot'],
      rest: undefined,
    })
  })

  it('keeps what follows "--" for exec', () => {
    expect(parseLine(declared('exec'), ['bot', '--', 'sh', '-c', 'echo --json'], {})).toMatchObject({
      args: {name: 'bot'},
      rest: ['sh', '-c', 'echo --json'],
    })
  })

  it.each([
    [['bot', '--help', '--user', '@a:b']],
    [['--user', '@a:b']],
    [['bot', '--user', '@a:b', '--client-id', '01J44QC8BCY7FCFM7WGHQGKMTJ']],
    [['bot', '--user', '@a:b', '--user', '@c:d']],
    [['bot', '--user', '@a:b', '--store', 'bogus']],
    [['bot', '--user', '@a:b', '--password-stdin', '--oauth']],
    [['bot', '--user', '--json']],
    [['bot', 'extra', '--user', '@a:b']],
  ])('leaves %j to oclif', (line) => {
    expect(parseLine(declared('create'), line, {})).toBeUndefined()
  })

  it('leaves a line with a flag that depends on another to oclif, which reads it for the same action', () => {
    expect(parseLine(declared('create'), ['bot', '--user', '@a:b.c', '--as', 'admin', '--expires', '90d'], {})).toBeUndefined()
    expect(parseLine(declared('create'), ['bot', '--user', '@a:b.c', '--as', 'admin'], {})?.flags).toMatchObject({as: 'admin'})
  })

  it("reads prune's --inactive-days as a whole number of at least 1, as Flags.integer does", () => {
    expect(parseLine(declared('prune'), ['--user', '@a:b.c', '--inactive-days', '30'], {})?.flags).toEqual({user: '@a:b.c', 'inactive-days': 30})
    for (const days of ['0', '-1', '1.5', '30d', ''])
      expect(parseLine(declared('prune'), ['--user', '@a:b.c', `--inactive-days=${days}`], {}), days).toBeUndefined()
  })
})
