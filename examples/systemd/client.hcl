# /etc/beacon.d/client.hcl on every host that runs services. Put the gossip
# key in a file of its own beside it (encrypt.hcl, see the README).

datacenter = "dc1"
data_dir   = "/var/lib/beacon"

# Any server will do; the agent learns the others through gossip and, if
# it ever loses them all, keeps retrying these and the peers it last saw.
retry_join         = ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
retry_interval     = "10s"
rejoin_after_leave = true

# bind_addr = "10.0.0.9"

# Local services and Prometheus talk to this agent on loopback.
client_addr = "127.0.0.1"

log_level       = "INFO"
syslog_facility = "LOCAL0"
