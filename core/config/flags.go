package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Flags are the agent's command-line flags. Each flag writes the config key
// of the same setting, so `-http-port 8501` and `{"ports":{"http":8501}}` are
// one setting; flags are applied after every file.
type Flags struct {
	FlagSet *flag.FlagSet
	Dev     bool
	files   []string
	hcl     []string
	format  string
	overlay map[string]interface{}
}

// NewFlags registers the agent flags on a new flag set.
func NewFlags(name string, out io.Writer) *Flags {
	f := &Flags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError), overlay: map[string]interface{}{}}
	fs := f.FlagSet
	fs.SetOutput(out)
	fs.BoolVar(&f.Dev, "dev", false, "Run a single in-memory server for development (HTTP and DNS on 127.0.0.1).")
	fs.Func("config-file", "A JSON or HCL config file to load; may be given more than once.", f.addFile)
	fs.Func("config-dir", "A directory of .json and .hcl config files, loaded in lexical order; may be given more than once.", f.addFile)
	fs.StringVar(&f.format, "config-format", "", "Format of config files whose extension does not tell it: json or hcl.")
	fs.Func("hcl", "An HCL config snippet, applied after config files; may be given more than once.", func(s string) error {
		f.hcl = append(f.hcl, s)
		return nil
	})

	str := func(name, key, usage string) { fs.Var(&keyValue{f: f, key: key, kind: "string"}, name, usage) }
	num := func(name, key, usage string) { fs.Var(&keyValue{f: f, key: key, kind: "int"}, name, usage) }
	dur := func(name, key, usage string) { fs.Var(&keyValue{f: f, key: key, kind: "duration"}, name, usage) }
	boo := func(name, key, usage string) { fs.Var(&keyValue{f: f, key: key, kind: "bool"}, name, usage) }
	list := func(name, key, usage string) { fs.Var(&keyValue{f: f, key: key, kind: "list"}, name, usage) }

	str("node", "node_name", "Name of this node; must be unique in the cluster (default: hostname).")
	str("node-id", "node_id", "A UUID for this node, kept across restarts.")
	list("node-meta", "node_meta", "Node metadata as key:value; may be given more than once.")
	str("datacenter", "datacenter", "Datacenter of the agent (default dc1).")
	str("primary-datacenter", "primary_datacenter", "The datacenter that is authoritative for ACLs.")
	str("data-dir", "data_dir", "Directory for the agent's state.")
	boo("server", "server", "Run as a server.")
	boo("bootstrap", "bootstrap", "Bootstrap a single server as leader.")
	num("bootstrap-expect", "bootstrap_expect", "Number of servers to wait for before bootstrapping the cluster.")
	num("raft-protocol", "raft_protocol", "Raft protocol version (accepted for compatibility).")
	str("bind", "bind_addr", "Address to bind cluster communication to (default 0.0.0.0).")
	str("client", "client_addr", "Address(es) to bind client interfaces (HTTP, DNS) to (default 127.0.0.1).")
	str("advertise", "advertise_addr", "Address to advertise to other agents.")
	str("advertise-wan", "advertise_addr_wan", "Address to advertise on the WAN.")
	str("serf-lan-bind", "serf_lan", "Address to bind LAN gossip to.")
	str("serf-wan-bind", "serf_wan", "Address to bind WAN gossip to.")
	num("http-port", "ports.http", "HTTP API port (default 8500).")
	num("https-port", "ports.https", "HTTPS API port (default disabled).")
	num("dns-port", "ports.dns", "DNS port (default 8600).")
	num("server-port", "ports.server", "Server RPC port (default 8300).")
	num("serf-lan-port", "ports.serf_lan", "LAN gossip port (default 8301).")
	num("serf-wan-port", "ports.serf_wan", "WAN gossip port (default 8302).")
	num("grpc-port", "ports.grpc", "gRPC port: accepted for compatibility; beacon has no gRPC API.")
	num("grpc-tls-port", "ports.grpc_tls", "gRPC TLS port: accepted for compatibility; beacon has no gRPC API.")
	str("domain", "domain", "DNS domain to answer for (default consul.).")
	str("alt-domain", "alt_domain", "An alternate DNS domain to also answer for.")
	list("recursor", "recursors", "Upstream DNS server for names outside the domain; may be given more than once.")
	list("join", "start_join", "Address of an agent to join at start; may be given more than once.")
	list("retry-join", "retry_join", "Address of an agent to join, retried until it works; may be given more than once.")
	dur("retry-interval", "retry_interval", "Time between join attempts (default 30s).")
	num("retry-max", "retry_max", "Maximum join attempts; 0 retries forever.")
	list("join-wan", "start_join_wan", "Address of a WAN server to join at start.")
	list("retry-join-wan", "retry_join_wan", "Address of a WAN server to join, with retries.")
	dur("retry-interval-wan", "retry_interval_wan", "Time between WAN join attempts.")
	num("retry-max-wan", "retry_max_wan", "Maximum WAN join attempts.")
	boo("rejoin", "rejoin_after_leave", "Rejoin the cluster after a previous leave.")
	str("encrypt", "encrypt", "Gossip encryption key (from `beacon keygen`).")
	boo("ui", "ui", "Serve the web UI.")
	str("ui-dir", "ui_dir", "Serve the web UI from this directory.")
	str("ui-content-path", "ui_config.content_path", "Path the UI is served under (default /ui/).")
	str("log-level", "log_level", "Log level: trace, debug, info, warn or error (default info).")
	boo("log-json", "log_json", "Write logs as JSON.")
	str("log-file", "log_file", "Also write logs to this file; a path ending in / is a directory to write consul.log in.")
	num("log-rotate-bytes", "log_rotate_bytes", "Rotate the log file before it grows past this many bytes; 0 has no size limit.")
	dur("log-rotate-duration", "log_rotate_duration", "Rotate the log file after it has been written to this long (default 24h).")
	num("log-rotate-max-files", "log_rotate_max_files", "Rotated log files to keep: 0 keeps all, -1 deletes them at once.")
	boo("syslog", "enable_syslog", "Also send logs to syslog.")
	str("pid-file", "pid_file", "Write the agent's PID to this file.")
	boo("enable-script-checks", "enable_script_checks", "Allow script and docker checks from any source (the HTTP API included).")
	boo("enable-local-script-checks", "enable_local_script_checks", "Allow script and docker checks from config files only.")
	boo("disable-host-node-id", "disable_host_node_id", "Use a random node ID instead of one derived from the host.")
	boo("disable-keyring-file", "disable_keyring_file", "Do not persist the gossip keyring.")
	return f
}

func (f *Flags) addFile(s string) error {
	f.files = append(f.files, s)
	return nil
}

// Sources reads the config files named by the flags and returns them with
// the -hcl snippets and the flags themselves, in the order they apply.
func (f *Flags) Sources() ([]Source, error) {
	srcs, err := ReadSources(f.files, f.format)
	if err != nil {
		return nil, err
	}
	for i, h := range f.hcl {
		srcs = append(srcs, Source{Name: fmt.Sprintf("-hcl #%d", i+1), Format: "hcl", Data: []byte(h)})
	}
	if len(f.overlay) > 0 {
		b, err := json.Marshal(f.overlay)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, Source{Name: "command-line flags", Format: "json", Data: b})
	}
	return srcs, nil
}

// Load reads every source and builds the configuration. It can be called
// again to reload.
func (f *Flags) Load() (*Config, error) {
	srcs, err := f.Sources()
	if err != nil {
		return nil, err
	}
	return Build(f.Dev, srcs)
}

// keyValue is a flag that writes a config key.
type keyValue struct {
	f    *Flags
	key  string
	kind string
	last string
}

func (k *keyValue) String() string { return k.last }

func (k *keyValue) IsBoolFlag() bool { return k.kind == "bool" }

func (k *keyValue) Set(s string) error {
	var v interface{}
	switch k.kind {
	case "string", "duration":
		v = s
	case "int":
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("not a number: %q", s)
		}
		v = n
	case "bool":
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("not true or false: %q", s)
		}
		v = b
	case "list":
		if k.key == "node_meta" {
			kv := strings.SplitN(s, ":", 2)
			if len(kv) != 2 || kv[0] == "" {
				return fmt.Errorf("want key:value, got %q", s)
			}
			meta, _ := k.f.overlay["node_meta"].(map[string]interface{})
			if meta == nil {
				meta = map[string]interface{}{}
				k.f.overlay["node_meta"] = meta
			}
			meta[kv[0]] = kv[1]
			k.last = s
			return nil
		}
		prev, _ := k.f.overlay[k.key].([]interface{})
		k.f.overlay[k.key] = append(prev, s)
		k.last = s
		return nil
	}
	setPath(k.f.overlay, strings.Split(k.key, "."), v)
	k.last = s
	return nil
}

func setPath(m map[string]interface{}, path []string, v interface{}) {
	for len(path) > 1 {
		sub, ok := m[path[0]].(map[string]interface{})
		if !ok {
			sub = map[string]interface{}{}
			m[path[0]] = sub
		}
		m, path = sub, path[1:]
	}
	m[path[0]] = v
}
