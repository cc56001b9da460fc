import {exec} from '../cli/commands/exec.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(exec)
