import {declare, flag} from '../declaration.js'
import {vaultFlag} from '../shared-flags.js'

/** The signals a program is commonly told to end by; SIGKILL is what comes after the timeout. */
const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const

export const exec = declare({
  id: 'exec',
  summary: "Run a command with the session's token in its environment",
  description: `Adds MATRIX_HOMESERVER_URL, MATRIX_USER_ID, MATRIX_DEVICE_ID and MATRIX_ACCESS_TOKEN to the environment of CMD — never to a command line or a file — and exits with CMD's exit status (128 + the signal number when a signal ended it). SIGINT, SIGTERM and SIGHUP sent to mxtok are passed on to CMD. CMD gets neither mxtok's own MXTOK_* variables nor the OpenBao/Vault token (BAO_TOKEN, VAULT_TOKEN). Everything after "--" is CMD and its arguments, run without a shell. CMD not found: exit 127; not executable: 126. When the session's token changes while CMD runs (rotate, create again, a refresh, a change in a shared vault store), CMD is stopped (--stop-signal, then SIGKILL after --stop-timeout seconds) and started again with the new token; a token about to expire is refreshed first. A session revoked or forgotten meanwhile stops CMD, and exec exits 4. --no-restart leaves CMD alone.`,
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
    'no-restart': flag.boolean({
      description: "leave CMD running when the session's token changes or the session ends, instead of restarting or stopping it",
      exclusive: ['stop-signal', 'stop-timeout'],
    }),
    'stop-signal': flag.string({
      description: 'the signal that asks CMD to end, before it is started again with a new token (default SIGTERM)',
      options: STOP_SIGNALS,
    }),
    'stop-timeout': flag.integer({description: 'seconds CMD has to end after the stop signal, before SIGKILL: 1 to 300 (default 10)', min: 1, max: 300}),
    vault: vaultFlag,
  },
})
