import {revoke} from '../cli/commands/revoke.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(revoke)
