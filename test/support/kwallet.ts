// KWallet (kwalletd5 with its Secret Service bridge) as the Secret Service, headless, on a private
// bus. Its wallet is created and opened through pamOpen, the call a PAM login makes, which shows no
// dialog: with any other way in, kwalletd5 asks for the wallet password in a window.
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {terminate} from './child-process.js'
import {
  callOnBus,
  checkBinaries,
  defaultCollection,
  defaultCollectionLocked,
  inDesktopHome,
  mustCall,
  nameOwned,
  SECRETS_BUS_NAME,
  SECRETS_PATH,
  spawnDaemon,
  waitUntil,
} from './private-bus.js'
import type {SecretServiceUnderTest} from './secret-services.js'
import {probeWithSecretTool} from './secret-tool.js'

const REQUIRED = [
  ['dbus-daemon', 'dbus'],
  ['dbus-send', 'dbus'],
  ['kwalletd5', 'libkf5wallet-bin'],
  ['secret-tool', 'libsecret-tools'],
] as const
const KWALLETD = 'org.kde.kwalletd5'
const KWALLETD_PATH = '/modules/kwalletd5'
const WALLET = 'kdewallet'
/** What PAM would derive from the login password: any 56 bytes, the same each time. */
const PAM_HASH = Buffer.from(Array.from({length: 56}, (_, i) => (i * 37 + 11) & 0xff))

export interface KWalletOptions {
  /**
   * As without Debian's libqca-qt5-2-plugins (only a Recommends of kwalletd5): QCA then has no
   * Diffie-Hellman, and kwalletd5 offers only the "plain" session.
   */
  withoutQcaPlugins?: boolean
}

const KWALLETRC = `[Wallet]
Enabled=true
First Use=false
Default Wallet=${WALLET}
Prompt on Open=false
Leave Open=true
Close When Idle=false

[org.freedesktop.secrets]
apiEnabled=true
`

export async function startKWallet(opts: KWalletOptions = {}): Promise<SecretServiceUnderTest> {
  await checkBinaries('the test KWallet', REQUIRED)
  const began = Date.now()
  return inDesktopHome('mxtok-kwallet-', opts.withoutQcaPlugins ? {QCA_NO_PLUGINS: '1'} : {}, async ({bus, env, childEnv, track, stop: stopAll}) => {
    await writeFile(join(bus.root, 'config', 'kwalletrc'), KWALLETRC)
    const pamOpen = () =>
      callOnBus(bus.address, {
        destination: KWALLETD,
        path: KWALLETD_PATH,
        interface: 'org.kde.KWallet',
        member: 'pamOpen',
        signature: 'sayi',
        body: [WALLET, PAM_HASH, 0],
      })
    const close = () =>
      callOnBus(bus.address, {destination: KWALLETD, path: KWALLETD_PATH, interface: 'org.kde.KWallet', member: 'close', signature: 'sb', body: [WALLET, true]})

    // The Secret Service side makes collections only of the wallets there are when it starts: a
    // first run creates the wallet, the second serves it.
    const first = spawnDaemon('kwalletd5', [], childEnv)
    track(first.child)
    await waitUntil('kwalletd5 did not take its name', () => nameOwned(childEnv, KWALLETD), first.died)
    await pamOpen()
    await close()
    await terminate(first.child, 2_000)

    const serve = async () => {
      const started = spawnDaemon('kwalletd5', [], childEnv)
      track(started.child)
      await waitUntil('kwalletd5 did not take org.freedesktop.secrets', () => nameOwned(childEnv, SECRETS_BUS_NAME), started.died)
      await pamOpen()
      // Open as a wallet, the collection still says locked until unlocked through the Secret
      // Service; its prompt then completes without a window.
      const collection = await defaultCollection(childEnv)
      if (!collection) throw new Error('KWallet has no default collection')
      const [, prompt] = await callOnBus(bus.address, {
        destination: SECRETS_BUS_NAME,
        path: SECRETS_PATH,
        interface: 'org.freedesktop.Secret.Service',
        member: 'Unlock',
        signature: 'ao',
        body: [[collection]],
      })
      if (prompt !== '/')
        await callOnBus(bus.address, {
          destination: SECRETS_BUS_NAME,
          path: prompt as string,
          interface: 'org.freedesktop.Secret.Prompt',
          member: 'Prompt',
          signature: 's',
          body: [''],
        })
      await waitUntil('KWallet did not unlock', async () => !(await defaultCollectionLocked(childEnv)), started.died)
      return started
    }
    let serving = await serve()
    // secret-tool needs the encrypted session that this kwalletd5 cannot offer.
    if (!opts.withoutQcaPlugins) await probeWithSecretTool(childEnv)
    const startMs = Date.now() - began

    let stopped: Promise<void> | undefined
    return {
      kind: 'kwallet',
      env,
      startMs,
      async lock() {
        const collection = await defaultCollection(childEnv)
        await mustCall(childEnv, SECRETS_BUS_NAME, SECRETS_PATH, 'org.freedesktop.Secret.Service.Lock', `array:objpath:${collection}`)
        await waitUntil('KWallet did not lock', () => defaultCollectionLocked(childEnv), serving.died)
      },
      /**
       * By a new kwalletd5: an unlock prompt that a client started and dismissed leaves kwalletd5
       * with a password dialog (unseen here) that holds back every later open of the wallet.
       */
      async unlock() {
        await terminate(serving.child, 1_000)
        serving = await serve()
      },
      async stopDaemon() {
        // A write is saved about 5 s later or on close; SIGTERM alone would lose it.
        await close().catch(() => {})
        await terminate(serving.child, 2_000)
      },
      stop() {
        stopped ??= (async () => {
          if (!serving.died()) await close().catch(() => {})
          await stopAll()
        })()
        return stopped
      },
    }
  })
}
