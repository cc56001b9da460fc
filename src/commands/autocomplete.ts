import {autocomplete} from '../cli/commands/autocomplete.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(autocomplete)
