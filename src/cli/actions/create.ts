import {createAdminSession} from '../../core/create-admin-session.js'
import {createClientSession} from '../../core/create-client-session.js'
import {createSession} from '../../core/create-session.js'
import {usageError} from '../../errors.js'
import {madeBy, masAdminFields, type Session, tokenOwner} from '../../registry/session.js'
import {storeLabel} from '../../store/store-kinds.js'
import {clientSecretOf} from '../client-secret.js'
import type {create as command} from '../commands/create.js'
import type {Input} from '../declaration.js'
import {interruptibleSleep, showDeviceCode} from '../device-code.js'
import type {Io} from '../io.js'
import {done, type Outcome} from '../outcome.js'
import {passwordOf} from '../password.js'

export interface CreateJson {
  name: string
  /** null for an admin client's session, whose token is no user's and on no device. */
  userId: string | null
  deviceId: string | null
  homeserver: string
  createdAt: string
  /** An admin login's: who made it, and when its token dies (missing: never). */
  adminBy?: string
  expiresAt?: string
  /** The token reaches MAS's admin API: an admin user's ("user") or an admin client's ("client", with its ID). */
  masAdmin?: 'user' | 'client'
  clientId?: string
  /** A personal token of MAS (create --as there): its personal session at MAS. */
  personalSessionId?: string
}

export async function create({args, flags}: Pick<Input<typeof command>, 'args' | 'flags'>, io: Io): Promise<Outcome<CreateJson>> {
  const clientId = flags['client-id']
  if (clientId !== undefined) {
    if (flags.homeserver === undefined) throw usageError('--client-id needs --homeserver: the URL of the homeserver whose sign-in service lists the client')
    const clientSecret = clientSecretOf(clientId, flags['client-secret-stdin'] === true, io)
    const s = await createClientSession({name: args.name, homeserver: flags.homeserver, clientId, clientSecret, store: flags.store}, io.deps())
    return done(showSession('Created', s, io))
  }
  if (flags.user === undefined)
    throw usageError(
      '--user is required (see "mxtok create --help"), or --client-id with --homeserver for an admin client of the Matrix Authentication Service',
    )
  const user = flags.user
  if (flags.as !== undefined) {
    const s = await createAdminSession({name: args.name, user, as: flags.as, expires: flags.expires, store: flags.store}, io.deps())
    return done(showSession('Created', s, io))
  }
  const s = await createSession(
    {
      name: args.name,
      user,
      homeserver: flags.homeserver,
      deviceName: flags['device-name'],
      deviceId: flags['device-id'],
      password: passwordOf(user, flags['password-stdin'] === true, io),
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
  const admin = masAdminFields(s)
  const by = madeBy(s)
  if (admin.clientId !== undefined) {
    io.log(`  user        none (admin client ${admin.clientId})`)
    io.log('  device      none')
  } else {
    io.log(`  user        ${s.userId}`)
    io.log(by === undefined ? `  device      ${s.deviceId}` : `  device      none (admin login by ${by})`)
  }
  io.log(`  homeserver  ${s.homeserver}`)
  if (by !== undefined || s.auth === 'personal') io.log(`  expires     ${s.expiresAt ?? 'never'}`)
  if (s.auth === 'personal') io.log(`  MAS         personal session ${s.personal.id}, made with session "${s.personal.admin}"`)
  if (admin.masAdmin === 'user') io.log('  admin API   yes (urn:mas:admin): use it with --as')
  if (admin.masAdmin === 'client') io.log("  admin API   yes (urn:mas:admin), the client's own: a new token is fetched as each expires")
  return {
    name: s.name,
    ...tokenOwner(s),
    homeserver: s.homeserver,
    createdAt: s.createdAt,
    ...(by === undefined ? {} : {adminBy: by}),
    ...(s.expiresAt ? {expiresAt: s.expiresAt} : {}),
    ...admin,
    ...(s.auth === 'personal' ? {personalSessionId: s.personal.id} : {}),
  }
}
