import {rename} from '../cli/commands/rename.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(rename)
