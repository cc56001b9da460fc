import {usageError} from '../errors.js'

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export function validateSessionName(name: string): string {
  if (!NAME.test(name)) {
    throw usageError(`"${name}" is not a valid session name: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`)
  }
  return name
}
