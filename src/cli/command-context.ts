import {closeHttp} from '../matrix/http.js'
import {commandDeps} from './default-deps.js'
import type {RunContext} from './run-action.js'

/** The flags every command may have, as parsed by the runner or by oclif. */
export interface CommonFlags {
  json?: unknown
  verbose?: unknown
  'allow-http'?: unknown
}

/**
 * A real run's context from its flags: --verbose is MXTOK_DEBUG=1, --allow-http MXTOK_ALLOW_HTTP=1.
 * Its own module, loaded only when a command needs more than the registry (not `list --offline`).
 */
export const commandContext = (flags: CommonFlags): RunContext => ({
  json: flags.json === true,
  deps: () => commandDeps(flags.verbose === true, flags['allow-http'] === true),
  finish: closeHttp,
})
