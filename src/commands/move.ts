import {move} from '../cli/commands/move.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(move)
