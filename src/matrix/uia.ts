import {MatrixError} from './errors.js'

export const PASSWORD_STAGE = 'm.login.password'

/** What a 401 asking for User-Interactive Auth says. Any part may be missing: the spec makes `session` optional. */
export interface UiaChallenge {
  session?: string
  /** Each flow is the list of stages that together complete it. */
  flows?: string[][]
  /** Set when an attempt failed, e.g. M_FORBIDDEN for a wrong password. */
  errcode?: string
}

/** The challenge in a 401 answer; null for any other failure, a dead or missing token included. */
export function uiaChallenge(error: unknown): UiaChallenge | null {
  if (!(error instanceof MatrixError) || error.status !== 401) return null
  if (error.errcode === 'M_UNKNOWN_TOKEN' || error.errcode === 'M_MISSING_TOKEN') return null
  const body = error.body ?? {}
  const challenge: UiaChallenge = {}
  if (typeof body.session === 'string' && body.session) challenge.session = body.session
  if (Array.isArray(body.flows)) {
    challenge.flows = body.flows.flatMap((f: {stages?: unknown}) =>
      f && Array.isArray(f.stages) && f.stages.every((s) => typeof s === 'string') ? [f.stages as string[]] : [],
    )
  }
  if (!error.isLocal) challenge.errcode = error.errcode
  return challenge
}

/** True unless the server said which flows it accepts and none is a password alone. */
export const acceptsPassword = (challenge: UiaChallenge) => !challenge.flows || challenge.flows.some((f) => f.length === 1 && f[0] === PASSWORD_STAGE)

/** The `auth` object that completes a password-only flow. */
export function passwordAuth(userId: string, password: string, session?: string): Record<string, unknown> {
  return {type: PASSWORD_STAGE, identifier: {type: 'm.id.user', user: userId}, password, ...(session === undefined ? {} : {session})}
}
