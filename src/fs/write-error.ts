import {dirname} from 'node:path'
import {MxtokError} from '../errors.js'

/** What a person can do about the file-system failures that are not mxtok's fault. */
const REASONS: Record<string, (dir: string) => string> = {
  ENOSPC: () => 'no space left on device; free some space and try again',
  EDQUOT: () => 'disk quota exceeded; free some space and try again',
  EROFS: () => 'read-only file system; remount it writable, or set MXTOK_CONFIG_DIR to a writable directory',
  EACCES: (dir) => `permission denied; check the owner and mode of ${dir}`,
  EPERM: (dir) => `operation not permitted; check the owner and mode of ${dir}`,
}

/**
 * A failure to write `path` as the error a person reads (exit 8), when it is one they can act on;
 * any other error is returned as it is.
 */
export function cannotWrite(path: string, error: unknown): unknown {
  if (error instanceof MxtokError) return error
  const reason = REASONS[(error as NodeJS.ErrnoException)?.code ?? '']
  if (!reason) return error
  return new MxtokError('disk', `cannot write ${path}: ${reason(dirname(path))}`, {cause: error})
}
