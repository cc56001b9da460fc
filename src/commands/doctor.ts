import {doctor} from '../cli/commands/doctor.js'
import {commandClass} from '../cli/oclif-command.js'

export default commandClass(doctor)
