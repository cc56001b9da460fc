import {ExitCode} from '../errors.js'
import {describeError} from './describe-error.js'

export const printJson = (value: unknown) => void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)

/** Any failure as one line (or a JSON error object) and its documented exit code. */
export function reportError(error: unknown, json: boolean, print: (value: unknown) => void = printJson): void {
  const {kind, message} = describeError(error)
  process.exitCode = ExitCode[kind]
  if (json) print({error: {kind, exitCode: ExitCode[kind], message}})
  else process.stderr.write(`mxtok: ${message}\n`)
  if (kind === 'unexpected' && process.env.MXTOK_DEBUG) process.stderr.write(`${(error as Error)?.stack}\n`)
}
