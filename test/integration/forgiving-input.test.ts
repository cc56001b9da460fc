// Mistyped command lines, through every way a line reaches the parser (the offline fast path, the
// direct runner, oclif): one line of mxtok's, a suggestion where one is near, exit 2, JSON under --json.
import {describe, expect, it} from 'vitest'
import {expectOneLineError, runCli, tempDir} from '../support/cli.js'

const dir = tempDir('mxtok-input-')
const run = (args: string[]) => runCli(args, {env: {HOME: dir, MXTOK_CONFIG_DIR: dir}})

describe('forgiving input', () => {
  it.each([
    [['lst'], 'unknown command "lst": did you mean "mxtok list"?'],
    [['verfy', 'bot'], 'unknown command "verfy": did you mean "mxtok verify"?'],
    [['xyzzy'], 'unknown command "xyzzy" ("mxtok --help" lists the commands)'],
    [['help', 'lst'], 'unknown command "lst": did you mean "mxtok list"?'],
    [['lst', '--help'], 'unknown command "lst": did you mean "mxtok list"?'],
    [['--verison'], 'unknown flag --verison: did you mean --version?'],
    [['list', '--jsn'], 'unknown flag --jsn: did you mean --json?'],
    [['list', '--offline', '--jsn'], 'unknown flag --jsn: did you mean --json?'],
    [['list', 'extra'], 'unexpected argument extra; see "mxtok list --help"'],
    [['token'], 'missing NAME; usage: mxtok token NAME'],
    [['token', 'a', 'b'], 'unexpected argument b; usage: mxtok token NAME'],
    [['exec'], 'missing NAME; usage: mxtok exec NAME -- CMD [ARGS...]'],
    [['create', 'bot'], '--user is required (see "mxtok create --help"), or --client-id with --homeserver'],
    [['create', 'bot', '--client-id', '01J44QC8BCY7FCFM7WGHQGKMTJ', '-u', '@a:b'], '--user and --client-id cannot be used together'],
    [['create', 'bot', '--client-id', '01J44QC8BCY7FCFM7WGHQGKMTJ'], '--client-id needs --homeserver'],
    [['create', 'bot', '--user'], '--user needs a value (see "mxtok create --help")'],
    [['create', 'bot', '-u', '@a:b', '--oauth', '--password-stdin'], '--oauth and --password-stdin cannot be used together'],
    [['doctor', '--store', 'fil'], '--store must be one of keychain, file, vault, not "fil": did you mean file?'],
    [['move', 'bot', '--to', 'vaul'], '--to must be one of keychain, file, vault, not "vaul": did you mean vault?'],
    [['prune', '--user', '@a:b', '--inactive-days', 'ninety'], '--inactive-days needs a whole number, not "ninety"'],
    [['prune', '--user', '@a:b', '--inactive-days', '0'], '--inactive-days must be at least 1, not "0"'],
    [['revoke', 'bot', '--local'], 'unknown flag --local: did you mean --local-only?'],
  ])('mxtok %j', async (args, message) => {
    const r = await run(args)
    expect(r.code).toBe(2)
    expectOneLineError(r)
    expect(r.stderr).toContain(message)
    expect(r.stdout).toBe('')
  })

  it.each([[['lst', '--json']], [['list', '--jsn', '--json']], [['list', '--offline', '--json', 'extra']], [['verify', '--json', '--bogus']]])(
    'mxtok %j answers in JSON',
    async (args) => {
      const r = await run(args)
      expect(r.code).toBe(2)
      expect(r.stderr).toBe('')
      const {error} = JSON.parse(r.stdout)
      expect(error).toMatchObject({kind: 'usage', exitCode: 2})
      expect(error.message).not.toMatch(/\n|See more help|Nonexistent|command \S+ not found/)
    },
  )
})
