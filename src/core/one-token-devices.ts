/**
 * Whether a password login to a chosen device has ended every older token of that device by
 * itself, leaving its own token the device's only one: then create needs no reset of the device
 * (a logout and a second login). Decided by what the server says of itself, and only where that
 * behaviour is pinned to what it says; everywhere else (Synapse above all, element-hq/synapse#6616)
 * create resets the device.
 *
 * - The login's token is a compatibility token of the Matrix Authentication Service (`mct_`) and
 *   the device asked for was honoured (the login refuses any other answer): MAS honours requested
 *   device IDs since v0.15.0, and from that same version its compatibility login finishes every
 *   session of the device before starting the new one (`finish_sessions_to_replace_device` in
 *   crates/handlers/src/compat/login.rs). Earlier versions ignored the device ID.
 * - The server names itself Dendrite (GET /_matrix/federation/v1/version): Dendrite keeps one token
 *   per device by its schema (the token is a column of the device's row, device IDs unique per
 *   user), and a login to an existing device deletes the row before inserting the new one.
 */
export function loginLeavesOnlyItsToken(accessToken: string, serverSoftware: string | null): boolean {
  return accessToken.startsWith(MAS_COMPAT_TOKEN_PREFIX) || serverSoftware === 'Dendrite'
}

const MAS_COMPAT_TOKEN_PREFIX = 'mct_'
