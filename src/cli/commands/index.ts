import type {CommandDeclaration} from '../declaration.js'
import {autocomplete} from './autocomplete.js'
import {create} from './create.js'
import {doctor} from './doctor.js'
import {exec} from './exec.js'
import {importCommand} from './import.js'
import {list} from './list.js'
import {move} from './move.js'
import {prune} from './prune.js'
import {rename} from './rename.js'
import {revoke} from './revoke.js'
import {rotate} from './rotate.js'
import {token} from './token.js'
import {verify} from './verify.js'

/**
 * Every command, as declared: the one list that the runner, the oclif command classes, the actions'
 * table (actions/index.ts), completion, the man page and the suggestion of a mistyped command read.
 */
export const commands = [autocomplete, create, doctor, exec, importCommand, list, move, prune, rename, revoke, rotate, token, verify] as const

export type Command = (typeof commands)[number]
export type CommandId = Command['id']
/** Any one of them, as a declaration. */
export type DeclaredCommand = CommandDeclaration & {id: CommandId}

export const commandById = (id: string): DeclaredCommand | undefined => commands.find((c) => c.id === id)
