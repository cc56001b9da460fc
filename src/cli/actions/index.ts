import type {Command} from '../commands/index.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import type {Outcome} from '../outcome.js'
import {autocomplete} from './autocomplete.js'
import {create} from './create.js'
import {doctor} from './doctor.js'
import {exec} from './exec.js'
import {importToken} from './import.js'
import {list} from './list.js'
import {move} from './move.js'
import {prune} from './prune.js'
import {rename} from './rename.js'
import {revoke} from './revoke.js'
import {rotate} from './rotate.js'
import {token} from './token.js'
import {verify} from './verify.js'

/** What runs a command: given the input its declaration types, whichever parser read the line. */
export type Action<C extends Command> = (input: Input<C>, io: Io) => Promise<Outcome>

/** The action of each declared command: one missing, or taking other input than its declaration gives, does not compile. */
export const actions: {[C in Command as C['id']]: Action<C>} = {
  autocomplete,
  create,
  doctor,
  exec,
  import: importToken,
  list,
  move,
  prune,
  rename,
  revoke,
  rotate,
  token,
  verify,
}
