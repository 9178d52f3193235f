package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"
)

// defaultHTTPAddr is where an agent's HTTP API listens unless told otherwise.
const defaultHTTPAddr = "127.0.0.1:8500"

// httpFlags are the client flags shared by every subcommand that talks to an
// agent's HTTP API, with Consul's names and environment variables.
type httpFlags struct {
	addr          string
	token         string
	tokenFile     string
	datacenter    string
	stale         bool
	caFile        string
	caPath        string
	clientCert    string
	clientKey     string
	tlsServerName string
}

// register adds the flags to fs; defaults come from the CONSUL_* variables.
func (h *httpFlags) register(fs *flag.FlagSet) {
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&h.addr, "http-addr", env(api.HTTPAddrEnvName, defaultHTTPAddr),
		"The `address` of the agent's HTTP API: host:port, http://host:port, https://host:port or unix:///path. Also CONSUL_HTTP_ADDR.")
	fs.StringVar(&h.token, "token", os.Getenv(api.HTTPTokenEnvName),
		"ACL token to use in the request. Also CONSUL_HTTP_TOKEN.")
	fs.StringVar(&h.tokenFile, "token-file", os.Getenv(api.HTTPTokenFileEnvName),
		"File holding the ACL token; it wins over -token. Also CONSUL_HTTP_TOKEN_FILE.")
	fs.StringVar(&h.datacenter, "datacenter", "",
		"Datacenter to query; defaults to the agent's.")
	fs.BoolVar(&h.stale, "stale", false,
		"Allow any server, not only the leader, to answer reads.")
	fs.StringVar(&h.caFile, "ca-file", os.Getenv(api.HTTPCAFile),
		"CA certificate file to verify the agent's TLS certificate. Also CONSUL_CACERT.")
	fs.StringVar(&h.caPath, "ca-path", os.Getenv(api.HTTPCAPath),
		"Directory of CA certificates. Also CONSUL_CAPATH.")
	fs.StringVar(&h.clientCert, "client-cert", os.Getenv(api.HTTPClientCert),
		"Client certificate file for TLS. Also CONSUL_CLIENT_CERT.")
	fs.StringVar(&h.clientKey, "client-key", os.Getenv(api.HTTPClientKey),
		"Client key file for TLS. Also CONSUL_CLIENT_KEY.")
	fs.StringVar(&h.tlsServerName, "tls-server-name", os.Getenv(api.HTTPTLSServerName),
		"Server name to verify in the agent's certificate. Also CONSUL_TLS_SERVER_NAME.")
}

// config builds the API client configuration the flags describe.
func (h *httpFlags) config() (*api.Config, error) {
	cfg := api.DefaultConfig()
	addr, err := parseHTTPAddr(h.addr)
	if err != nil {
		return nil, err
	}
	cfg.Address = addr.String()
	if addr.Scheme == "https" {
		cfg.Scheme = "https"
	}
	cfg.Token = h.token
	cfg.TokenFile = h.tokenFile
	cfg.Datacenter = h.datacenter
	cfg.TLSConfig.CAFile = h.caFile
	cfg.TLSConfig.CAPath = h.caPath
	cfg.TLSConfig.CertFile = h.clientCert
	cfg.TLSConfig.KeyFile = h.clientKey
	cfg.TLSConfig.Address = h.tlsServerName
	// HTTP/1.1 even over TLS: a command makes a request or two, and when
	// the agent refuses its client certificate, only HTTP/1.1 reports the
	// agent's reason ("certificate required"); HTTP/2 says no more than
	// that the connection could not be established.
	cfg.Transport.ForceAttemptHTTP2 = false
	return cfg, nil
}

// client returns an API client for the agent the flags name.
func (h *httpFlags) client() (*api.Client, error) {
	cfg, err := h.config()
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("agent at %s: %w", h.addr, err)
	}
	return c, nil
}

// connect returns an API client for the agent the flags name, or reports on
// stderr why there is none and returns nil; the command then exits 1.
func (h *httpFlags) connect(stderr io.Writer) *api.Client {
	c, err := h.client()
	if err != nil {
		fmt.Fprintf(stderr, "Error connecting to agent: %s\n", err)
		return nil
	}
	return c
}

// queryOptions are the read options the flags ask for.
func (h *httpFlags) queryOptions() *api.QueryOptions {
	return &api.QueryOptions{AllowStale: h.stale}
}

// httpAddr is a parsed -http-addr value.
type httpAddr struct {
	Scheme string // "http", "https", "unix", or "" when none was written
	Host   string // host:port, or the socket path for unix
	Path   string // a reverse proxy's path prefix, without the leading slash
}

// String renders the address the way the API client reads it.
func (a httpAddr) String() string {
	s := a.Host
	if a.Path != "" {
		s += "/" + a.Path
	}
	if a.Scheme != "" {
		s = a.Scheme + "://" + s
	}
	return s
}

// parseHTTPAddr reads "host:port", "http://host:port[/prefix]",
// "https://host:port[/prefix]" or "unix:///path/to/socket".
func parseHTTPAddr(s string) (httpAddr, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return httpAddr{}, errors.New("empty HTTP address")
	}
	var a httpAddr
	rest := s
	if scheme, after, ok := strings.Cut(s, "://"); ok {
		switch scheme {
		case "http", "https":
		case "unix":
			if after == "" {
				return httpAddr{}, fmt.Errorf("HTTP address %q: missing socket path", s)
			}
			return httpAddr{Scheme: "unix", Host: after}, nil
		default:
			return httpAddr{}, fmt.Errorf("HTTP address %q: unknown scheme %q (want http, https or unix)", s, scheme)
		}
		a.Scheme = scheme
		rest = after
	}
	host, path, _ := strings.Cut(rest, "/")
	if host == "" || host == ":" {
		return httpAddr{}, fmt.Errorf("HTTP address %q: missing host", s)
	}
	if strings.ContainsAny(host, " \t?#@") {
		return httpAddr{}, fmt.Errorf("HTTP address %q: invalid host %q", s, host)
	}
	a.Host = host
	a.Path = strings.TrimSuffix(path, "/")
	return a, nil
}

// newFlagSet makes a subcommand's flag set: errors are returned, not fatal,
// and messages and help go to stderr. usage is the synopsis line after
// "Usage: ", help a paragraph describing the command.
func newFlagSet(name, usage, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\n%s\n", usage, strings.TrimSpace(help))
		var any bool
		fs.VisitAll(func(*flag.Flag) { any = true })
		if any {
			fmt.Fprintf(stderr, "\nOptions:\n\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args into fs. When it returns false the command must end
// with the given code: 0 after -h, 1 after a bad flag (already reported).
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 1, false
	}
	return 0, true
}

// parseArgs parses args into fs, like parseFlags, and refuses more than
// maxArgs positional arguments, reporting that on fs's output. When it returns
// false the command must end with the given code.
func parseArgs(fs *flag.FlagSet, args []string, maxArgs int) (int, bool) {
	if code, ok := parseFlags(fs, args); !ok {
		return code, false
	}
	if fs.NArg() > maxArgs {
		fmt.Fprintf(fs.Output(), "Too many arguments (expected %d, got %d)\n", maxArgs, fs.NArg())
		return 1, false
	}
	return 0, true
}

// startClient is the whole prologue of a command that checks nothing between
// its arguments and its client: parseArgs, then connect. When the client is
// nil the command must end with the returned code.
func startClient(fs *flag.FlagSet, args []string, hf *httpFlags, maxArgs int) (*api.Client, int) {
	if code, ok := parseArgs(fs, args, maxArgs); !ok {
		return nil, code
	}
	client := hf.connect(fs.Output())
	if client == nil {
		return nil, 1
	}
	return client, 0
}

// flagWasSet reports whether the named flag appeared on the command line.
func flagWasSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// runGroup dispatches a command that only groups subcommands, such as
// `beacon kv get`.
func runGroup(group string, subs map[string]command, args []string, stdout, stderr io.Writer) int {
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: beacon %s <subcommand> [options] [args]\n\nSubcommands:\n", group)
		writeCommands(w, subs)
	}
	if len(args) == 0 {
		usage(stderr)
		return 1
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return 0
	}
	sub, ok := subs[args[0]]
	if !ok || sub.run == nil {
		fmt.Fprintf(stderr, "%s: unknown subcommand %q\n", group, args[0])
		usage(stderr)
		return 1
	}
	return sub.run(args[1:], stdout, stderr)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// keyValueFlag is a repeatable key=value flag collected into a map.
type keyValueFlag map[string]string

func (m keyValueFlag) String() string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func (m keyValueFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not key=value", v)
	}
	m[k] = val
	return nil
}
