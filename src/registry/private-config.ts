import {statSync} from 'node:fs'
import {MxtokError} from '../errors.js'

/**
 * Like ssh with its config, mxtok will not act on a registry that another local user could have
 * written: whoever can change a session's homeserver receives its token at the next verify. So
 * the config directory and the registry must belong to this user (or root) and be writable by
 * nobody else. Not on Windows, whose permissions are not mode bits.
 */
export function assertPrivate(paths: string[]): void {
  const uid = process.getuid?.()
  if (uid === undefined) return
  for (const path of paths) {
    let info
    try {
      info = statSync(path, {throwIfNoEntry: false})
    } catch (error) {
      throw new MxtokError('config', `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check its permissions`, {
        cause: error,
      })
    }
    if (!info) continue
    if (info.uid !== uid && info.uid !== 0) {
      throw new MxtokError(
        'config',
        `refusing to use ${path}: it belongs to another user (uid ${info.uid}), who could redirect your tokens; if it is yours, fix it with: chown ${uid} ${path}`,
      )
    }
    if (info.mode & 0o022) {
      throw new MxtokError('config', `refusing to use ${path}: other users can write it and so redirect your tokens; fix it with: chmod go-w ${path}`)
    }
  }
}
