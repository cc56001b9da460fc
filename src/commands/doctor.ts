import * as Flags from '@oclif/core/flags'
import {doctor} from '../cli/actions/doctor.js'
import {BaseCommand} from '../cli/base-command.js'
import {DEFAULT_STORE, STORE_KINDS} from '../store/store-kinds.js'

export default class Doctor extends BaseCommand {
  static summary = "Check that the configured secret store and the sessions' homeservers work"
  static description =
    `The verdict is about what is configured: the store chosen (--store, MXTOK_STORE, default ${DEFAULT_STORE}) and any other store holding sessions, and the homeservers of the sessions; a store nobody uses is reported as information. Exit 0 when all of that works; 6 when such a store does not, else 5 when a homeserver does not answer. Also says where the registry is, and reports what an interrupted run left behind.`
  static examples = ['<%= config.bin %> doctor', 'MXTOK_STORE=file <%= config.bin %> doctor --json', '<%= config.bin %> doctor --fix']

  static flags = {
    store: Flags.string({description: 'the store to require', options: [...STORE_KINDS], env: 'MXTOK_STORE', default: DEFAULT_STORE}),
    fix: Flags.boolean({description: 'log out and remove orphan tokens left by an interrupted run'}),
  }

  async run(): Promise<void> {
    const input = await this.parse(Doctor)
    await this.act(input.flags, (io) => doctor(input, io))
  }
}
