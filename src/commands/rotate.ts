import {rotate} from '../cli/commands/rotate.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(rotate)
