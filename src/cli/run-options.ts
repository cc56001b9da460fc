/**
 * What the user chose for the whole run, by flag or by environment variable: read once, where the
 * run's context is made (command-context.ts), and passed by value from there — never put back into
 * the environment for something else to read.
 */
export interface RunOptions {
  /** --json: the result, or the error, as JSON on stdout. */
  json: boolean
  /** --verbose or MXTOK_DEBUG: each request (method, URL, status, time) on stderr. */
  verbose: boolean
  /** --allow-http or MXTOK_ALLOW_HTTP=1: plain http:// to a host that is not loopback. */
  allowHttp: boolean
  /** --vault or MXTOK_VAULT: MOUNT/PREFIX of the team home in OpenBao/Vault, which then holds every session. */
  vault?: string
}

export const runOptions = (flags: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv): RunOptions => ({
  json: flags.json === true,
  verbose: flags.verbose === true || Boolean(env.MXTOK_DEBUG),
  // The variable covers every command of the run, including those without the flag.
  allowHttp: flags['allow-http'] === true || env.MXTOK_ALLOW_HTTP === '1',
  // Commands without the flag (autocomplete) work on the same sessions as those with it.
  vault: (typeof flags.vault === 'string' ? flags.vault : env.MXTOK_VAULT) || undefined,
})
