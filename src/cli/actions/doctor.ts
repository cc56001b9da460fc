import {type DoctorReport, type Orphan, runDoctor, type StoreCheck} from '../../core/doctor.js'
import {ExitCode} from '../../errors.js'
import {type StoreKind, storeLabel} from '../../store/store-kinds.js'
import {checkEngine, describeEngine} from '../../vault/engine-check.js'
import type {doctor as command} from '../commands/doctor.js'
import type {Input} from '../declaration.js'
import type {Io} from '../io.js'
import type {Outcome} from '../outcome.js'

export interface DoctorJson extends DoctorReport {
  stores: (StoreCheck & {configured: boolean; sessions: number})[]
}

/**
 * The verdict is about what is configured: the store chosen (--store, MXTOK_STORE, default
 * keychain), any other store that holds sessions, and the sessions' homeservers. A store nobody
 * uses is information: that it does not work here is no failure.
 */
export async function doctor({flags}: Pick<Input<typeof command>, 'flags'>, io: Io): Promise<Outcome<DoctorJson>> {
  const deps = io.deps()
  const vault = flags.vault || io.env.MXTOK_VAULT
  const engine = vault ? () => checkEngine({...io.env, MXTOK_VAULT: vault}) : undefined
  // The team home holds every session and its token: it is the store to require.
  const report = await runDoctor({configuredStore: deps.registry.tokens ?? flags.store, fix: flags.fix === true, checkEngine: engine}, deps)
  const inStore = new Map<StoreKind, number>()
  const unread = report.engine?.ok === false && deps.registry.tokens !== undefined
  for (const s of unread ? [] : await deps.registry.list()) inStore.set(s.store, (inStore.get(s.store) ?? 0) + 1)
  const stores = report.stores.map((s) => ({...s, configured: s.store === report.configuredStore, sessions: inStore.get(s.store) ?? 0}))
  const plural = (n: number, what = 'session') => `${n} ${what}${n === 1 ? '' : 's'}`

  io.log(`registry     ${report.registry} (${plural(report.sessions)})`)
  if (report.engine) io.log(`${report.engine.ok ? 'ok  ' : 'FAIL'} ${describeEngine(report.engine)}`)
  for (const s of stores) {
    const why = s.configured ? 'configured' : s.sessions > 0 ? `holds ${plural(s.sessions)}` : 'not configured'
    const mark = s.configured || s.sessions > 0 ? (s.ok ? 'ok  ' : 'FAIL') : 'info'
    const state = s.problem ? ` — ${mark === 'info' ? 'not usable here: ' : ''}${s.problem}` : mark === 'info' ? ' — usable here' : ''
    io.log(`${mark} store ${s.store}: ${storeLabel(s.store)} (${why})${state}`)
  }
  for (const h of report.homeservers)
    io.log(`${h.ok ? 'ok  ' : 'FAIL'} homeserver ${h.homeserver} (${plural(h.sessions)})${h.problem ? ` — ${h.problem}` : ''}`)
  for (const o of report.orphans) {
    if (o.inProgress) {
      const {by, since, until} = o.inProgress
      io.log(
        `info ${o.name ? `create of session "${o.name}"` : 'login'} of ${o.userId} device ${o.deviceId} in progress (${by}, since ${since}, until ${until})`,
      )
      continue
    }
    const what =
      o.kind === 'token'
        ? `orphan token of ${o.userId} device ${o.deviceId} in the ${storeLabel(o.store)}, held by no session`
        : o.personal
          ? personalLine(o, o.personal)
          : o.admin
            ? `admin login${o.name ? ` of session "${o.name}"` : ''} was interrupted: a token of ${o.userId} on no device may exist that nobody holds; it ends by itself ${o.admin.expiresAt ? `at ${o.admin.expiresAt}` : 'never'}, or when ${o.admin.by} logs out everywhere${o.advice ? `; run "${o.advice}" for a new one` : ''}`
            : o.client
              ? `create of admin client session${o.name ? ` "${o.name}"` : ''} was interrupted: an access token of client ${o.client} may exist that nobody holds; it ends by itself at its expiry (minutes: the access token lifetime of MAS)${o.name ? `; create the session again` : ''}`
              : o.issuer
                ? `interrupted sign-in of ${o.userId} device ${o.deviceId}: if it was approved, that session may still be live; end it in the list of sessions of your account at ${o.issuer}`
                : o.advice
                  ? `create of session "${o.name}" was interrupted: device ${o.deviceId} of ${o.userId} may hold a token nobody has${o.sessionExists ? ', and the stored token may be dead' : ''}; run "${o.advice}" again, which leaves only the new token on the device (then "mxtok revoke ${o.name}" if the session is not wanted)`
                  : `interrupted login of ${o.userId} device ${o.deviceId}: the device may hold a token nobody has; "mxtok prune --user ${o.userId} --orphans" deletes it`
    io.log(`${o.fixed ? 'fixed' : 'WARN'} ${what}${o.kind === 'token' && !o.fixed ? '; "mxtok doctor --fix" logs it out and removes it' : ''}`)
  }
  const keys = report.removedKeys
  if (keys && keys.deleted > 0) io.log(`fixed deleted the keys of ${plural(keys.deleted, 'removed session')} from ${report.registry}`)
  if (keys && keys.left > keys.deleted) {
    const n = keys.left - keys.deleted
    io.log(
      `WARN ${plural(n, 'removed session')} left ${n === 1 ? 'its key' : 'their keys'} in ${report.registry}, with no token: "mxtok doctor --fix" deletes ${n === 1 ? 'it' : 'them'}`,
    )
  }
  const storesWork = stores.every((s) => s.ok || !(s.configured || s.sessions > 0))
  // The engine first: a vault store that fails because its server does, fails for that reason.
  const code =
    report.engine && !report.engine.ok
      ? ExitCode.vault
      : !storesWork
        ? ExitCode.keychain
        : report.homeservers.some((h) => !h.ok)
          ? ExitCode.homeserver
          : ExitCode.ok
  return {result: {...report, stores, ok: code === ExitCode.ok}, exitCode: code}
}

/** An interrupted create or rotate of a personal token of MAS, and what puts it right. */
function personalLine(o: Orphan, p: NonNullable<Orphan['personal']>): string {
  if (p.humanName === undefined)
    return `rotate of session "${o.name}" was interrupted: MAS may have regenerated its personal token, so the stored one may be dead; run "${o.advice}" again`
  return `create of session "${o.name}" (a personal token of MAS) was interrupted: a personal session "${p.humanName}" of ${o.userId} on device ${o.deviceId} may exist that nobody holds; "mxtok doctor --fix" revokes it with session "${p.admin}"`
}
