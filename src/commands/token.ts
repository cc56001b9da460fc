import {token} from '../cli/commands/token.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(token)
