import {importCommand} from '../cli/commands/import.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(importCommand)
