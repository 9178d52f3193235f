# /etc/beacon.d/server.hcl on each server host. Put the gossip key in a file
# of its own beside it (encrypt.hcl, see the README), the same on every
# agent.

datacenter       = "dc1"
data_dir         = "/var/lib/beacon"
server           = true
bootstrap_expect = 3

# The servers, by address or DNS name; each one joins the others, retrying
# until they answer, so the servers may start in any order.
retry_join     = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
retry_interval = "10s"

# On a host with more than one private address, say which one to use:
# bind_addr = "10.0.0.1"

# The HTTP API, DNS and UI. Loopback only; list other addresses (or
# "0.0.0.0") to reach them from elsewhere.
client_addr = "127.0.0.1"
ui_config {
  enabled = true
}

log_level       = "INFO"
syslog_facility = "LOCAL0"
