package registrator

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// DefaultRegistry is where services go when no registry URI is given: the
// agent on this host. Registering with a remote agent makes the services
// look as if they ran on that agent's node.
const DefaultRegistry = "consul://127.0.0.1:8500"

const usage = `Usage: beacon registrator [options] [<registry URI>]

  Registers the services of this host's Docker containers, one per published
  port (per exposed port with -internal), and deregisters them when the
  containers stop. Drop-in for gliderlabs/registrator: same flags, same
  SERVICE_* env vars and labels, same registry URIs.

  Registry URIs (default ` + DefaultRegistry + `, the local agent):
    consul://host:port        the agent's service API
    consul-tls://host:port    the same over HTTPS (CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY)
    consul-unix:///path.sock  the same over a unix socket
    consulkv://host:port/pfx  keys pfx/<name>/<id> = ip:port
  CONSUL_HTTP_TOKEN is the ACL token; DOCKER_HOST the engine (default
  unix:///tmp/docker.sock when mounted there, else unix:///var/run/docker.sock).

Options:
`

// ParseArgs reads Registrator's command line into a Config. It returns
// flag.ErrHelp after printing the usage for -h.
func ParseArgs(args []string, out io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("registrator", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fs.PrintDefaults()
	}
	var tags, logLevel string
	var ttl, ttlRefresh, resync, retryInterval int
	fs.BoolVar(&c.Internal, "internal", false, "Use exposed ports and the container's address instead of published ports")
	fs.StringVar(&c.HostIP, "ip", "", "Advertise this address for published ports")
	fs.StringVar(&tags, "tags", "", "Comma-separated tags added to every service")
	fs.IntVar(&ttl, "ttl", 0, "Seconds after which a service's heartbeat check fails unless refreshed (0: no heartbeat)")
	fs.IntVar(&ttlRefresh, "ttl-refresh", 0, "Seconds between heartbeats (needed with -ttl)")
	fs.IntVar(&resync, "resync", 0, "Seconds between full re-synchronisations with Docker (0: never)")
	fs.IntVar(&c.RetryAttempts, "retry-attempts", 0, "Extra attempts to reach the registry and Docker at start (-1: forever)")
	fs.IntVar(&retryInterval, "retry-interval", 2000, "Milliseconds between those attempts")
	fs.BoolVar(&c.Cleanup, "cleanup", false, "Remove services of this host that no running container offers (left by a crash, say)")
	fs.StringVar(&c.Deregister, "deregister", DeregisterAlways, `Deregister a stopped container's services "always" or "on-success" (exit code 0)`)
	fs.BoolVar(&c.Explicit, "explicit", false, "Register only containers that set SERVICE_NAME")
	fs.StringVar(&c.UseIPFromLabel, "useIpFromLabel", "", "Advertise the address held in this container label")
	fs.BoolVar(&c.RequireLabel, "require-label", false, "Register only containers labelled SERVICE_REGISTER")
	fs.StringVar(&c.Hostname, "hostname", "", "Host name in service IDs and ownership (default: the Docker host's name)")
	fs.StringVar(&logLevel, "log-level", "info", "Log level: trace, debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch fs.NArg() {
	case 0:
		c.RegistryURI = DefaultRegistry
	case 1:
		c.RegistryURI = fs.Arg(0)
	default:
		return c, fmt.Errorf("one registry URI expected, got %q (options go before it)", fs.Args())
	}
	c.Tags = splitComma(tags)
	c.TTL = time.Duration(ttl) * time.Second
	c.TTLRefresh = time.Duration(ttlRefresh) * time.Second
	c.Resync = time.Duration(resync) * time.Second
	c.RetryInterval = time.Duration(retryInterval) * time.Millisecond
	if retryInterval <= 0 {
		return c, fmt.Errorf("-retry-interval must be positive")
	}
	c.LogLevel = logLevel
	check := c
	if err := check.finalize(); err != nil {
		return c, err
	}
	return c, nil
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
