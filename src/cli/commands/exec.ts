import {declare} from '../declaration.js'
import {vaultFlag} from '../shared-flags.js'

export const exec = declare({
  id: 'exec',
  summary: "Run a command with the session's token in its environment",
  description: `Adds MATRIX_HOMESERVER_URL, MATRIX_USER_ID, MATRIX_DEVICE_ID and MATRIX_ACCESS_TOKEN to the environment of CMD — never to a command line or a file — and exits with CMD's exit status (128 + the signal number when a signal ended it). SIGINT, SIGTERM and SIGHUP sent to mxtok are passed on to CMD. Everything after "--" is CMD and its arguments, run without a shell. CMD not found: exit 127; not executable: 126.`,
  usage: 'exec NAME -- CMD [ARGS...]',
  examples: [
    '<%= config.bin %> exec bot -- ./run-bot --config bot.yaml',
    '<%= config.bin %> exec bot -- sh -c \'curl -sH "Authorization: Bearer $MATRIX_ACCESS_TOKEN" "$MATRIX_HOMESERVER_URL/_matrix/client/v3/account/whoami"\'',
  ],
  json: false,
  // The command's own flags (ls -la) are not mxtok's: everything after "--" is split off before parsing.
  rest: true,
  args: {
    name: {description: 'session name', required: true, session: true},
  },
  flags: {
    vault: vaultFlag,
  },
})
