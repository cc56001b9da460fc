# A bot that reads its own session, "bot", and nothing else: with the Agent template
# (agent.hcl), External Secrets, Ansible, or `mxtok exec bot -- ./run-bot`.
# One policy per bot: replace "bot" with the session's name, and "secret"/"mxtok" with
# MXTOK_VAULT's mount and folder. Renewing its own token (auth/token/renew-self) is in the
# default policy that every token has unless it was made without it.

path "secret/data/mxtok/sessions/bot" {
  capabilities = ["read"]
}
