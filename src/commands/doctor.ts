import * as Flags from '@oclif/core/flags'
import {BaseCommand} from '../cli/base-command.js'
import {doctor} from '../cli/actions/doctor.js'
import type {DoctorReport} from '../core/doctor.js'
import {STORE_KINDS} from '../store/secret-store.js'

export default class Doctor extends BaseCommand {
  static summary = 'Check which secret stores work here, where the registry is, and whether the homeservers answer'
  static description = 'Exit 0 when the configured store (--store, MXTOK_STORE, default keychain) works; 6 when it does not.'
  static examples = ['<%= config.bin %> doctor', 'MXTOK_STORE=file <%= config.bin %> doctor --json', '<%= config.bin %> doctor --fix']

  static flags = {
    store: Flags.string({description: 'the store to require', options: [...STORE_KINDS], env: 'MXTOK_STORE', default: 'keychain'}),
    fix: Flags.boolean({description: 'log out and remove orphan tokens left by an interrupted run'}),
  }

  async run(): Promise<DoctorReport> {
    return doctor(await this.parse(Doctor), this.io())
  }
}
