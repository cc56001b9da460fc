import {verify} from '../cli/commands/verify.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(verify)
