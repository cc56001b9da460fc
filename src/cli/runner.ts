import {readFileSync} from 'node:fs'
import {type ManifestCommand, parseByManifest} from './manifest-argv.js'

/**
 * The one way into a command without oclif, which costs more than 100 ms of every start: the line
 * is read by the command's entry in oclif.manifest.json and its action run by runAction, as the
 * oclif command classes do. Returns false — and oclif runs — for help, for a line that does not
 * parse plainly (oclif then says what is wrong), and for what is not a command here.
 *
 * This file holds only the parser. What runs is in files of their own, loaded as needed:
 * offline.ts (`list --offline` and completion, which scripts and shell prompts run often, with the
 * registry alone) and line-actions.ts (every other command). Loading the latter for the former
 * would double their start-up.
 */
export async function run(argv: string[], manifestFile: string): Promise<boolean> {
  if (argv.length === 2 && argv[0] === '__complete' && argv[1] === 'sessions') {
    await (await import('./offline.js')).completeSessions()
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
    await (await import('./offline.js')).listOffline(line.flags.json === true)
    return true
  }
  return (await import('./line-actions.js')).runLine(id, line)
}
