// The runner that skips oclif must read every line it accepts exactly as oclif would, and leave
// the rest to oclif: checked against oclif's own parser over many generated command lines.
import {existsSync, readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import * as Flags from '@oclif/core/flags'
import {parse} from '@oclif/core/parser'
import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {type ManifestCommand, parseByManifest} from '../../src/cli/manifest-argv.js'
import Create from '../../src/commands/create.js'
import Doctor from '../../src/commands/doctor.js'
import Exec from '../../src/commands/exec.js'
import Import from '../../src/commands/import.js'
import List from '../../src/commands/list.js'
import Move from '../../src/commands/move.js'
import Prune from '../../src/commands/prune.js'
import Rename from '../../src/commands/rename.js'
import Revoke from '../../src/commands/revoke.js'
import Token from '../../src/commands/token.js'
import Verify from '../../src/commands/verify.js'

const manifestFile = resolve(import.meta.dirname, '../../oclif.manifest.json')
if (!existsSync(manifestFile)) throw new Error(`${manifestFile} is missing: run npm run build first`)
const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {commands: Record<string, ManifestCommand>}

type CommandClass = {flags?: object; baseFlags?: object; args?: object; strict?: boolean; enableJsonFlag?: boolean}
const classes: Record<string, CommandClass> = {
  create: Create,
  doctor: Doctor,
  exec: Exec,
  import: Import,
  list: List,
  move: Move,
  prune: Prune,
  rename: Rename,
  revoke: Revoke,
  token: Token,
  verify: Verify,
}

/** What oclif's parser makes of the line, as BaseCommand.parse would call it; undefined when it refuses the line. */
async function oclifReads(cls: CommandClass, line: string[], env: Record<string, string>) {
  const saved = {...process.env}
  Object.assign(process.env, env)
  try {
    const flags = {...cls.baseFlags, ...cls.flags, ...(cls.enableJsonFlag === false ? {} : {json: Flags.boolean()})}
    const out = await parse(line, {flags, args: cls.args, strict: cls.strict ?? true} as Parameters<typeof parse>[1])
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
  '--orphans',
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

describe('parseByManifest', () => {
  it.each(Object.keys(classes))('reads %s lines as oclif does, or leaves them to oclif', async (id) => {
    const command = manifest.commands[id]
    expect(command, `${id} in the manifest`).toBeDefined()
    let accepted = 0
    await fc.assert(
      fc.asyncProperty(lines(id), fc.constantFrom(...envs), async (line, env) => {
        const direct = parseByManifest(command, line, env, {rest: id === 'exec'})
        if (!direct) return
        accepted++
        // exec hands oclif only what comes before "--", as Exec.run does.
        const dashes = line.indexOf('--')
        const oclif = await oclifReads(classes[id], id === 'exec' && dashes >= 0 ? line.slice(0, dashes) : line, env)
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
    expect(parseByManifest(manifest.commands.create, line, {MXTOK_STORE: 'file'})).toEqual({
      args: {name: 'bot'},
      flags: {user: '@bot:example.com', homeserver: 'https://hs.example', 'password-stdin': true, json: true, store: 'file'},
      argv: ['bot'],
      rest: undefined,
    })
  })

  it('keeps what follows "--" for exec', () => {
    expect(parseByManifest(manifest.commands.exec, ['bot', '--', 'sh', '-c', 'echo --json'], {}, {rest: true})).toMatchObject({
      args: {name: 'bot'},
      rest: ['sh', '-c', 'echo --json'],
    })
  })

  it.each([
    [['bot', '--help', '--user', '@a:b']],
    [['bot']],
    [['bot', '--user', '@a:b', '--user', '@c:d']],
    [['bot', '--user', '@a:b', '--store', 'bogus']],
    [['bot', '--user', '@a:b', '--password-stdin', '--oauth']],
    [['bot', '--user', '--json']],
    [['bot', 'extra', '--user', '@a:b']],
  ])('leaves %j to oclif', (line) => {
    expect(parseByManifest(manifest.commands.create, line, {})).toBeUndefined()
  })

  it("reads prune's --inactive-days as a whole number of at least 1, as Flags.integer does", () => {
    expect(parseByManifest(manifest.commands.prune, ['--user', '@a:b.c', '--inactive-days', '30'], {})?.flags).toEqual({user: '@a:b.c', 'inactive-days': 30})
    for (const days of ['0', '-1', '1.5', '30d', ''])
      expect(parseByManifest(manifest.commands.prune, ['--user', '@a:b.c', `--inactive-days=${days}`], {}), days).toBeUndefined()
  })
})
