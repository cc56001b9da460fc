# mxtok operators: every command on the team home MXTOK_VAULT=secret/mxtok (create, rotate,
# revoke, move, prune, doctor --fix as well as list, verify, token, exec).
# For another mount or folder, replace "secret" and "mxtok" in the paths below.

# The sessions' secrets (PREFIX/sessions/NAME) and the journal of logins under way (PREFIX/pending/).
path "secret/data/mxtok/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# Versions and lists; the copy of each record that list reads (custom_metadata, written with
# update); a finished login's journal entry goes with its metadata.
path "secret/metadata/mxtok/*" {
  capabilities = ["read", "list", "update", "delete"]
}

# Revoke destroys the versions that held the token, so that none stays in the history.
path "secret/destroy/mxtok/*" {
  capabilities = ["update"]
}

# The list of every session with its version in one call (OpenBao 2.2 and later).
path "secret/detailed-metadata/mxtok/*" {
  capabilities = ["list"]
}
