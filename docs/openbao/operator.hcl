# mxtok operators: every command on the team home MXTOK_VAULT=secret/mxtok (create, rotate,
# revoke, move, prune, doctor --fix as well as list, verify, token, exec).
# For another mount or folder, replace "secret" and "mxtok" in the paths below.

# The sessions' secrets (PREFIX/sessions/NAME) and whatever else mxtok keeps under the prefix.
path "secret/data/mxtok/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# Versions and lists; revoke deletes a secret with all its versions, through its metadata.
path "secret/metadata/mxtok/*" {
  capabilities = ["read", "list", "delete"]
}

# The list of every session with its version in one call (OpenBao 2.2 and later).
path "secret/detailed-metadata/mxtok/*" {
  capabilities = ["list"]
}
