import {actions} from './actions/index.js'
import {commandContext} from './command-context.js'
import type {CommandId} from './commands/index.js'
import type {Io} from './io.js'
import type {Outcome} from './outcome.js'
import type {ParsedLine} from './parse-line.js'
import {runAction} from './run-action.js'

/**
 * Where every command line ends, whichever parser read it (the runner's, or oclif's for a line
 * the runner leaves to it): the command's action, in a real run's context. Built for the runner as
 * a file of its own, dist/start-command.cjs, which holds everything the run uses: one copy of the
 * HTTP pool, closed at the end, and of the error classes that reportError tells apart.
 */
export async function startCommand(id: CommandId, input: ParsedLine): Promise<void> {
  // Both parsers read the line by the command's declaration: it is the input its action types.
  const start = actions[id] as unknown as (input: ParsedLine, io: Io) => Promise<Outcome>
  await runAction((io) => start(input, io), commandContext(input.flags))
}
