import {usageError} from '../errors.js'
import {SESSION_NAME} from '../registry/entry-check.js'

export function validateSessionName(name: string): string {
  if (!SESSION_NAME.test(name)) {
    throw usageError(`"${name}" is not a valid session name: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`)
  }
  return name
}
