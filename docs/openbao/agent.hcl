# OpenBao/Vault Agent for a bot that reads its Matrix session without mxtok. Run it in the
# bot's directory, which holds role-id and secret-id (the bot's AppRole, policy bot.hcl):
#
#   BAO_ADDR=https://vault.example.com:8200 bao agent -config=agent.hcl
#
# (vault agent -config=agent.hcl with VAULT_ADDR, the same.) It renders config.yaml from the
# session's secret, and again whenever the secret changes: after mxtok rotate, or create again.

auto_auth {
  method "approle" {
    config = {
      role_id_file_path   = "role-id"
      secret_id_file_path = "secret-id"
      # Kept, so that the agent can log in again after a restart.
      remove_secret_id_file_after_reading = false
    }
  }
}

template_config {
  # How often a KV version 2 secret is read again to see whether it changed (default 5m).
  static_secret_render_interval = "1m"
}

template {
  source      = "bot-config.ctmpl"
  destination = "config.yaml"
  perms       = "0600"
  # Restart the bot when its token changes, for example:
  # exec {
  #   command = ["systemctl", "try-restart", "matrix-bot.service"]
  # }
}
