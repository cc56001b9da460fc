import {commandById} from './commands/index.js'
import {parseLine} from './parse-line.js'

/**
 * The fast way into a command, without oclif, which costs more than 100 ms of every start: the line
 * is read by the command's declaration (commands/) and handed to startCommand, where the oclif
 * command classes hand what oclif parsed. Returns false — and oclif runs — for help, for a line
 * that does not parse plainly (oclif then says what is wrong, or reads it and starts the same
 * action), and for what is not a command here.
 *
 * This file holds only the declarations and the parser. What runs is in files of their own, loaded
 * as needed: offline.ts (lines the registry alone answers, and completion, which scripts and shell
 * prompts run often) and start-command.ts (everything else). Loading the latter for the former
 * would double their start-up.
 */
export async function run(argv: string[]): Promise<boolean> {
  if (argv.length === 2 && argv[0] === '__complete' && argv[1] === 'sessions') {
    await (await import('./offline.js')).completeSessions()
    return true
  }
  const [id, ...words] = argv
  const command = commandById(id)
  const line = command && parseLine(command, words, process.env)
  if (!command || !line) return false
  if (command.offline?.(line.flags)) return (await import('./offline.js')).runOffline(command.id, line)
  await (await import('./start-command.js')).startCommand(command.id, line)
  return true
}
