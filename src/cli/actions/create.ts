import {createAdminSession} from '../../core/create-admin-session.js'
import {createSession} from '../../core/create-session.js'
import {madeBy, oauthGrant, type Session} from '../../registry/session.js'
import {storeLabel} from '../../store/store-kinds.js'
import type {create as command} from '../commands/create.js'
import type {Input} from '../declaration.js'
import {interruptibleSleep, showDeviceCode} from '../device-code.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'
import {passwordOf} from '../password.js'

export interface CreateJson {
  name: string
  userId: string
  deviceId: string
  homeserver: string
  createdAt: string
  /** An admin login's: who made it, and when its token dies (missing: never). */
  adminBy?: string
  expiresAt?: string
  /** A personal token of MAS (create --as there): its personal session at MAS. */
  personalSessionId?: string
}

export async function create({args, flags}: Pick<Input<typeof command>, 'args' | 'flags'>, io: Io): Promise<Outcome<CreateJson>> {
  if (flags.as !== undefined) {
    const s = await createAdminSession({name: args.name, user: flags.user, as: flags.as, expires: flags.expires, store: flags.store}, io.deps())
    return done(showSession('Created', s, io))
  }
  const s = await createSession(
    {
      name: args.name,
      user: flags.user,
      homeserver: flags.homeserver,
      deviceName: flags['device-name'],
      deviceId: flags['device-id'],
      password: passwordOf(flags.user, flags['password-stdin'] === true, io),
      store: flags.store,
      oauth: flags.oauth,
      admin: flags.admin,
      showCode: (prompt) => showDeviceCode(prompt, io.stderr),
      sleep: interruptibleSleep,
    },
    io.deps(),
  )
  return done(showSession('Created', s, io))
}

/** What create and import print, and answer with --json. */
export function showSession(done: string, s: Session, io: Io): CreateJson {
  io.log(`${done} session "${s.name}" (token stored in the ${storeLabel(s.store)})`)
  io.log(`  user        ${s.userId}`)
  const by = madeBy(s)
  io.log(by === undefined ? `  device      ${s.deviceId}` : `  device      none (admin login by ${by})`)
  io.log(`  homeserver  ${s.homeserver}`)
  if (by !== undefined || s.auth === 'personal') io.log(`  expires     ${s.expiresAt ?? 'never'}`)
  if (s.auth === 'personal') io.log(`  MAS         personal session ${s.personal.id}, made with session "${s.personal.admin}"`)
  if (oauthGrant(s)?.admin) io.log('  admin API   yes (urn:mas:admin): use it with --as')
  return {
    name: s.name,
    userId: s.userId,
    deviceId: s.deviceId,
    homeserver: s.homeserver,
    createdAt: s.createdAt,
    ...(by === undefined ? {} : {adminBy: by}),
    ...(s.expiresAt ? {expiresAt: s.expiresAt} : {}),
    ...(s.auth === 'personal' ? {personalSessionId: s.personal.id} : {}),
  }
}
