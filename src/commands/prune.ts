import {prune} from '../cli/commands/prune.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(prune)
