/**
 * A device with no name that no client has ever used: what shared-secret registration
 * (register_new_matrix_user) leaves on every account it makes, its token held by nobody.
 */
export const isNeverSeen = (d: {displayName: string | null; lastSeenTs: number | null}): boolean => d.displayName === null && d.lastSeenTs === null
