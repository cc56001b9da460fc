// What a test file against the real MAS starts with: a stack and a keyring of its own, started
// together (a failure of either fails the file, naming it), accounts made in MAS, and create
// --oauth approved in MAS's own pages by the account's owner.
import {afterAll, beforeAll, beforeEach, expect} from 'vitest'
import type {Page} from './browser.js'
import {type CliResult, expectNoSecrets, mxtokRunner, runCli, tempDir} from './cli.js'
import {type KeyringSession, startKeyring} from './keyring.js'
import {approveAtMas} from './mas-browser.js'
import {type RealMas, type RealMasOptions, startRealMas} from './real-mas.js'
import {registerMasUser} from './real-mas-client.js'

type Env = Record<string, string | undefined>

export interface MasAccount {
  user: string
  localpart: string
  password: string
}

/** A fresh MAS account, its password counted among the secrets no output may show. */
export async function masAccount(stack: RealMas, localpart: string, secrets: Set<string>, opts: {admin?: boolean} = {}): Promise<MasAccount> {
  const password = `pw-${localpart}-Xq3Lm`
  secrets.add(password)
  return {user: await registerMasUser(stack.provided, localpart, password, opts), localpart, password}
}

/**
 * Runs `create` with the device grant's link approved at MAS, in a browser, by the account's owner
 * once mxtok shows where to go (while it polls). The run must succeed and show no secret.
 */
export async function createApprovedAtMas(args: string[], a: MasAccount, env: Env, secrets: Set<string>): Promise<CliResult & {page?: Page}> {
  let approval: Promise<Page> | undefined
  const created = await runCli(args, {
    env,
    timeoutMs: 60_000,
    onStderr: (soFar) => {
      const shown = / open (http\S+) and enter the code (\S+)/.exec(soFar) ?? / open (http\S+\?code=(\S+))/.exec(soFar)
      if (shown && !approval) approval = approveAtMas(shown[1], shown[2], {username: a.localpart, password: a.password})
    },
  })
  const page = await approval
  expectNoSecrets(created, secrets)
  expect(created.code, created.stderr).toBe(0)
  return {...created, page}
}

export interface MasSuiteOptions {
  /** The prefix of the configuration folders. */
  dirPrefix: string
  /** A new configuration folder for each test, rather than one for the file. */
  dirPerTest?: boolean
  stack?: RealMasOptions
}

/** Registers the file's hooks, and gives what its tests share. */
export function masSuite(opts: MasSuiteOptions) {
  let stack: RealMas | undefined
  let keyring: KeyringSession | undefined
  let configDir = ''
  /** Every secret seen: none may show up in any output but `mxtok token`'s. */
  const secrets = new Set<string>()
  /** Filled in once the keyring is up; mxtokRunner reads it at each run. */
  const keyringEnv: Record<string, string> = {}
  const runner = mxtokRunner(keyringEnv, () => configDir, secrets)

  beforeAll(async () => {
    const [started, ownKeyring] = await Promise.allSettled([startRealMas(opts.stack), startKeyring()])
    if (started.status === 'fulfilled') stack = started.value
    if (ownKeyring.status === 'fulfilled') keyring = ownKeyring.value
    if (started.status === 'rejected') throw started.reason
    if (ownKeyring.status === 'rejected') throw ownKeyring.reason
    Object.assign(keyringEnv, ownKeyring.value.env)
    configDir = tempDir(opts.dirPrefix)
  })
  afterAll(() => Promise.all([stack?.stop(), keyring?.stop()]))
  if (opts.dirPerTest) {
    beforeEach(() => {
      configDir = tempDir(opts.dirPrefix)
    })
  }

  const started = (): RealMas => {
    if (!stack) throw new Error('the MAS stack is not started')
    return stack
  }
  let n = 0
  return {
    ...runner,
    secrets,
    get stack(): RealMas {
      return started()
    },
    get configDir(): string {
      return configDir
    },
    /** A fresh account for each call, so that no test sees another's sessions. */
    account: (prefix: string, o: {admin?: boolean} = {}) => masAccount(started(), `${prefix}${process.pid}x${++n}`, secrets, o),
    /** create NAME --oauth for the account, approved at MAS; `more` adds flags (--admin). */
    createApproved: (a: MasAccount, name: string, more: string[] = [], env: Env = {}) =>
      createApprovedAtMas(['create', name, '--user', a.user, '--homeserver', started().provided.baseUrl, '--oauth', ...more], a, runner.env(env), secrets),
  }
}
