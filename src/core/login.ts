import {MxtokError} from '../errors.js'
import type {LoginResult, MatrixClient, PasswordLogin} from '../matrix/client.js'
import {MatrixError} from '../matrix/errors.js'

/** A password login, with a refusal turned into the error a person can act on (exit 3). */
export async function loginOrExplain(client: MatrixClient, req: PasswordLogin): Promise<LoginResult> {
  try {
    return await client.login(req)
  } catch (error) {
    if (error instanceof MatrixError && (error.errcode === 'M_FORBIDDEN' || error.errcode === 'M_USER_DEACTIVATED')) {
      const why = error.errcode === 'M_USER_DEACTIVATED' ? 'the account is deactivated' : 'wrong user or password'
      throw new MxtokError('loginRefused', `${client.baseUrl.host} refused the login for ${req.user}: ${why}`, {cause: error})
    }
    throw error
  }
}
