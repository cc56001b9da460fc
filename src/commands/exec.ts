import * as Args from '@oclif/core/args'
import {exec} from '../cli/actions/exec.js'
import {BaseCommand} from '../cli/base-command.js'

export default class Exec extends BaseCommand {
  static summary = "Run a command with the session's token in its environment"
  static description =
    `Adds MATRIX_HOMESERVER_URL, MATRIX_USER_ID, MATRIX_DEVICE_ID and MATRIX_ACCESS_TOKEN to the environment of CMD — never to a command line or a file — and exits with CMD's exit status (128 + the signal number when a signal ended it). SIGINT, SIGTERM and SIGHUP sent to mxtok are passed on to CMD. Everything after "--" is CMD and its arguments, run without a shell. CMD not found: exit 127; not executable: 126.`
  static usage = 'exec NAME -- CMD [ARGS...]'
  static examples = [
    '<%= config.bin %> exec bot -- ./run-bot --config bot.yaml',
    '<%= config.bin %> exec bot -- sh -c \'curl -sH "Authorization: Bearer $MATRIX_ACCESS_TOKEN" "$MATRIX_HOMESERVER_URL/_matrix/client/v3/account/whoami"\'',
  ]
  static enableJsonFlag = false
  // The command's own flags (ls -la) are not for oclif: everything after "--" is split off before parsing.
  static strict = false

  static args = {
    name: Args.string({description: 'session name', required: true, ignoreStdin: true}),
  }

  async run(): Promise<void> {
    // parse() replaces this.argv with what it was given.
    const all = this.argv
    const dashes = all.indexOf('--')
    const {args, argv, flags} = await this.parse(Exec, dashes === -1 ? all : all.slice(0, dashes))
    await this.act(flags, (io) => exec({args, argv: argv as string[], rest: dashes === -1 ? undefined : all.slice(dashes + 1)}, io))
  }
}
