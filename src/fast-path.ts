import {readFileSync} from 'node:fs'
import {describeError} from './cli/describe-error.js'
import {defaultDeps} from './cli/default-deps.js'
import {listSessions} from './core/list-sessions.js'
import {ExitCode} from './errors.js'
import {listJson, renderList} from './output/list-view.js'
import {wantsPrettyOutput} from './output/table.js'

/**
 * Loading oclif is most of a command's start-up. The invocations scripts and prompts run most
 * often, and that need no flag parsing to speak of, are answered here without it:
 * `--version`, and `list --offline` with or without `--json`. Returns false for anything else.
 */
export async function fastPath(argv: string[]): Promise<boolean> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v' || argv[0] === 'version')) {
    const {version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    process.stdout.write(`mxtok/${version} ${process.platform}-${process.arch} node-${process.version}\n`)
    return true
  }
  const [command, ...flags] = argv
  const known = new Set(['--offline', '--json'])
  if (command !== 'list' || !flags.includes('--offline') || !flags.every((f) => known.has(f)) || new Set(flags).size !== flags.length) return false

  const json = flags.includes('--json')
  try {
    const report = await listSessions({offline: true}, defaultDeps(process.env, () => {}))
    process.stdout.write(json ? `${JSON.stringify(listJson(report), null, 2)}\n` : `${await renderList(report, true, wantsPrettyOutput())}\n`)
  } catch (error) {
    const {kind, message} = describeError(error)
    process.exitCode = ExitCode[kind]
    if (json) process.stdout.write(`${JSON.stringify({error: {kind, exitCode: ExitCode[kind], message}}, null, 2)}\n`)
    else process.stderr.write(`mxtok: ${message}\n`)
  }
  return true
}
