// KeePassXC as the Secret Service, headless, on a private bus: a database made from a KeePass XML
// file whose root group is exposed as the collection, and a config that asks nothing of a user.
import {randomUUID} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {terminate} from './child-process.js'
import {
  busCall,
  callOnBus,
  checkBinaries,
  defaultCollection,
  defaultCollectionLocked,
  inDesktopHome,
  mustCall,
  run,
  SECRETS_BUS_NAME,
  spawnDaemon,
  waitUntil,
} from './private-bus.js'
import type {SecretServiceUnderTest} from './secret-services.js'
import {probeWithSecretTool} from './secret-tool.js'

const PASSWORD = 'mxtok-test-keepassxc-password'
const REQUIRED = [
  ['dbus-daemon', 'dbus'],
  ['dbus-send', 'dbus'],
  ['keepassxc', 'keepassxc'],
  ['keepassxc-cli', 'keepassxc'],
  ['secret-tool', 'libsecret-tools'],
] as const
const MAIN_WINDOW = 'org.keepassxc.KeePassXC.MainWindow'

export interface KeePassXCOptions {
  /**
   * KeePassXC's own default, true: a search of a locked database waits for the database to be
   * unlocked in a dialog. Off, it answers at once with nothing found.
   */
  unlockBeforeSearch?: boolean
}

/**
 * The database's root group gets a UUID of our choosing, and the database the custom data that
 * exposes that group as the Secret Service collection (a braced UUID, as FdoSecretsSettings.cpp in
 * 2.7.4 reads it). No recycle bin: a deleted item would otherwise still be found in it.
 */
function databaseXml(group: string): string {
  const uuidBase64 = Buffer.from(group.replace(/-/g, ''), 'hex').toString('base64')
  return `<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<KeePassFile>
  <Meta>
    <DatabaseName>mxtok test</DatabaseName>
    <RecycleBinEnabled>False</RecycleBinEnabled>
    <CustomData><Item><Key>FDO_SECRETS_EXPOSED_GROUP</Key><Value>{${group}}</Value></Item></CustomData>
  </Meta>
  <Root><Group><UUID>${uuidBase64}</UUID><Name>mxtok</Name></Group></Root>
</KeePassFile>
`
}

/**
 * Written before each start (KeePassXC rewrites it). SingleInstance off, with a TMPDIR of its own
 * where the lock would live, so that several can run at once. Autosave after every change off:
 * with it, rapid writes crashed KeePassXC 2.7.4; the database is saved on exit instead.
 */
function config(unlockBeforeSearch: boolean): string {
  return `[General]
ConfigVersion=2
SingleInstance=false
AutoSaveAfterEveryChange=false
AutoSaveOnExit=true
RememberLastDatabases=false

[GUI]
MinimizeOnStartup=false
ShowTrayIcon=false

[FdoSecrets]
Enabled=true
ShowNotification=false
ConfirmAccessItem=false
ConfirmDeleteItem=false
UnlockBeforeSearch=${unlockBeforeSearch}
`
}

export async function startKeePassXC(opts: KeePassXCOptions = {}): Promise<SecretServiceUnderTest> {
  await checkBinaries('the test KeePassXC', REQUIRED)
  const began = Date.now()
  return inDesktopHome('mxtok-keepassxc-', {}, async ({bus, env, childEnv, track, stop}) => {
    const {root} = bus
    const database = join(root, 'test.kdbx')
    const xml = join(root, 'test.xml')
    await writeFile(xml, databaseXml(randomUUID()))
    const imported = await run('keepassxc-cli', ['import', '-q', '-p', xml, database], childEnv, `${PASSWORD}\n${PASSWORD}\n`)
    if (imported.code !== 0) throw new Error(`keepassxc-cli import failed (${imported.code}): ${imported.stderr.trim()}`)
    const ini = join(root, 'config', 'keepassxc.ini')
    await writeFile(ini, config(opts.unlockBeforeSearch ?? true))

    const started = spawnDaemon(
      'keepassxc',
      ['--config', ini, '--localconfig', join(root, 'config', 'local.ini'), '--pw-stdin', database],
      childEnv,
      `${PASSWORD}\n`,
    )
    track(started.child)
    const pid = started.child.pid
    // Ours, not another KeePassXC's, and past the moment it shows the collection locked: a write
    // then would open a hidden dialog that never completes.
    await waitUntil(
      'KeePassXC did not offer an unlocked collection',
      async () => (await ownerPid(childEnv)) === pid && (await defaultCollection(childEnv)) !== undefined && !(await defaultCollectionLocked(childEnv)),
      started.died,
    )
    await probeWithSecretTool(childEnv)
    const startMs = Date.now() - began
    const keepassxc = started.child

    let stopped: Promise<void> | undefined
    return {
      kind: 'keepassxc',
      env,
      startMs,
      async lock() {
        await mustCall(childEnv, MAIN_WINDOW, '/keepassxc', `${MAIN_WINDOW}.lockAllDatabases`)
        await waitUntil('KeePassXC did not lock', () => defaultCollectionLocked(childEnv), started.died)
      },
      async unlock() {
        await callOnBus(env.DBUS_SESSION_BUS_ADDRESS, {
          destination: MAIN_WINDOW,
          path: '/keepassxc',
          interface: MAIN_WINDOW,
          member: 'openDatabase',
          signature: 'ss',
          body: [database, PASSWORD],
        })
        await waitUntil('KeePassXC did not unlock', async () => !(await defaultCollectionLocked(childEnv)), started.died)
      },
      async stopDaemon() {
        await terminate(keepassxc, 2_000)
      },
      stop() {
        stopped ??= stop()
        return stopped
      },
    }
  })
}

async function ownerPid(env: NodeJS.ProcessEnv): Promise<number | undefined> {
  const res = await busCall(
    env,
    'org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus.GetConnectionUnixProcessID',
    `string:${SECRETS_BUS_NAME}`,
  )
  const pid = /uint32 (\d+)/.exec(res.stdout)?.[1]
  return res.code === 0 && pid ? Number(pid) : undefined
}
