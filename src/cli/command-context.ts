import {closeHttp} from '../matrix/http.js'
import {settleBusCalls} from '../store/secret-service/index.js'
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
  // Calls to the Secret Service left under way would be answered to nobody, which gnome-keyring
  // may not survive (see settleBusCalls); a command normally leaves none.
  finish: async () => {
    await settleBusCalls(1000)
    await closeHttp()
  },
})
