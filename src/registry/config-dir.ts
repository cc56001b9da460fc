import {homedir} from 'node:os'
import {join} from 'node:path'

/** $MXTOK_CONFIG_DIR, else $XDG_CONFIG_HOME/mxtok, else ~/.config/mxtok. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MXTOK_CONFIG_DIR) return env.MXTOK_CONFIG_DIR
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'mxtok')
  return join(homedir(), '.config', 'mxtok')
}
