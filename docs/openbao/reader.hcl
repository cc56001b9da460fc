# mxtok operators who only look: list, verify, token and exec on MXTOK_VAULT=secret/mxtok.
# Anything that writes (create, rotate, revoke, move, prune, the refresh of an OAuth session's
# token) stops before it reaches the homeserver, naming the path and the missing capability.
# For another mount or folder, replace "secret" and "mxtok" in the paths below.

path "secret/data/mxtok/*" {
  capabilities = ["read"]
}

path "secret/metadata/mxtok/*" {
  capabilities = ["read", "list"]
}

path "secret/detailed-metadata/mxtok/*" {
  capabilities = ["list"]
}
