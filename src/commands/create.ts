import {create} from '../cli/commands/create.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(create)
