import {closeHttp} from '../matrix/http.js'
import {settleBusCalls} from '../store/secret-service/index.js'
import {defaultDeps} from './default-deps.js'
import {warnLine} from './io.js'
import type {InFlight} from './live/in-flight.js'
import type {RunContext} from './run-action.js'
import {runOptions} from './run-options.js'

/**
 * A real run's context from its flags, as either parser read them, and the environment: its
 * options, read once here, go to the dependencies by value. Its own module, loaded only when a
 * command needs more than the registry (not `list --offline`).
 */
export function commandContext(flags: Readonly<Record<string, unknown>>): RunContext {
  const options = runOptions(flags, process.env)
  const inFlight: InFlight = new Map()
  return {
    json: options.json,
    deps: () => defaultDeps(process.env, options, warnLine, inFlight),
    inFlight,
    // Calls to the Secret Service left under way would be answered to nobody, which gnome-keyring
    // may not survive (see settleBusCalls); a command normally leaves none. A command that failed
    // early (a usage error while its keychain check is under way) may: it waits for them as long
    // as any keychain call may take, since a loaded keyring can take longer than a second.
    finish: async () => {
      await settleBusCalls(3000)
      await closeHttp()
    },
  }
}
