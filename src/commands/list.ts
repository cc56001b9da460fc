import {list} from '../cli/commands/list.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(list)
