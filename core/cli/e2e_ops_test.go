package cli_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/waitfor"
)

func TestE2EKeygen(t *testing.T) {
	e := startAgent(t)
	r := e.ok("keygen")
	key := strings.TrimSuffix(r.stdout, "\n")
	if b, err := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 32 || strings.Contains(key, "\n") {
		t.Fatalf("keygen printed %q", r.stdout)
	}
	// The key is what -encrypt takes.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.json"), `{"data_dir":"`+dir+`","encrypt":"`+key+`"}`)
	e.want(0, "Configuration is valid!\n", "validate", dir)
}

func TestE2ESnapshotRoundTrip(t *testing.T) {
	e := startAgent(t)
	e.ok("kv", "put", "app/config", "v1")
	e.ok("kv", "put", "app/other", "kept")

	file := filepath.Join(t.TempDir(), "backup.snap")
	r := e.ok("snapshot", "save", file)
	m := regexp.MustCompile(`^Saved and verified snapshot to index (\d+)\n$`).FindStringSubmatch(r.stdout)
	if m == nil || m[1] == "0" {
		t.Fatalf("save printed %q", r.stdout)
	}
	if st, err := os.Stat(file); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file: %v %v", st, err)
	}
	if leftovers, _ := filepath.Glob(file + ".*"); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	r = e.ok("snapshot", "inspect", file)
	for _, re := range []string{`(?m)^ ID +\d+-` + m[1] + `-\d+$`, `(?m)^ Index +` + m[1] + `$`, `(?m)^ Version +1$`,
		`(?m)^ Size +\d+$`, `(?m)^ Term +\d+$`, `(?m)^ KVS +2 +\d+B +$`, `(?m)^ Total +[\d.]+K?B +$`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("inspect output lacks %s:\n%s", re, r.stdout)
		}
	}
	r = e.ok("snapshot", "inspect", "-kvdetails", "-kvdepth", "1", file)
	if !regexp.MustCompile(`(?m)^ app +2 +\d+B +$`).MatchString(r.stdout) {
		t.Errorf("inspect -kvdetails:\n%s", r.stdout)
	}
	r = e.ok("snapshot", "inspect", "-format", "json", file)
	if !strings.Contains(r.stdout, `"Index": `+m[1]) || !strings.Contains(r.stdout, `"Name": "KVS"`) {
		t.Errorf("inspect -format json:\n%s", r.stdout)
	}

	// Change the data, then restore: the saved values come back.
	e.ok("kv", "put", "app/config", "v2")
	e.ok("kv", "put", "app/new", "gone after restore")
	e.want(0, "Restored snapshot\n", "snapshot", "restore", file)
	waitfor.Until(t, 10*time.Second, "the restored value", func() bool { return e.beacon("kv", "get", "app/config").stdout == "v1\n" })
	e.want(0, "kept\n", "kv", "get", "app/other")
	e.want(1, "", "kv", "get", "app/new")

	// -stale and the file name parts.
	dir := t.TempDir()
	e.ok("snapshot", "save", "-stale", "-append-filename", "dc,status", filepath.Join(dir, "b.snap"))
	if _, err := os.Stat(filepath.Join(dir, "b-dc1-leader.snap")); err != nil {
		entries, _ := os.ReadDir(dir)
		t.Errorf("-append-filename: %v (dir has %v)", err, entries)
	}

	// A damaged file is refused, offline and by the agent.
	data, _ := os.ReadFile(file)
	bad := filepath.Join(t.TempDir(), "bad.snap")
	if err := os.WriteFile(bad, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if r := e.want(1, "", "snapshot", "inspect", bad); !strings.Contains(r.stderr, "Error reading snapshot: snapshot:") {
		t.Errorf("inspect of a damaged file: %q", r.stderr)
	}
	if r := e.want(1, "", "snapshot", "restore", bad); !strings.Contains(r.stderr, "Error restoring snapshot:") {
		t.Errorf("restore of a damaged file: %q", r.stderr)
	}
	e.want(0, "v1\n", "kv", "get", "app/config")
}

func TestE2EValidate(t *testing.T) {
	good := t.TempDir()
	writeFile(t, filepath.Join(good, "base.json"), `{"datacenter":"dc2","data_dir":"/var/lib/beacon","server":true,"bootstrap_expect":3}`)
	writeFile(t, filepath.Join(good, "web.hcl"), `service { name = "web" port = 80 }`)
	writeFile(t, filepath.Join(good, "README.md"), `not config: skipped as the agent skips it`)
	e := &env{t: t}
	e.want(0, "Configuration is valid!\n", "validate", good)
	e.want(0, "Configuration is valid!\n", "validate", filepath.Join(good, "base.json"), filepath.Join(good, "web.hcl"))
	e.want(0, "", "validate", "-quiet", good)

	bad := t.TempDir()
	writeFile(t, filepath.Join(bad, "a.json"), `{"data_dir":"/tmp"}`)
	writeFile(t, filepath.Join(bad, "b.hcl"), `service { name = "web" prot = 80 }`)
	r := e.want(1, "", "validate", bad)
	if !strings.HasPrefix(r.stderr, "Config validation failed: ") || !strings.Contains(r.stderr, "b.hcl") || !strings.Contains(r.stderr, "prot") {
		t.Errorf("unknown key: %q", r.stderr)
	}
	writeFile(t, filepath.Join(bad, "b.hcl"), `bootstrap_expect = 3`)
	if r := e.want(1, "", "validate", bad); !strings.Contains(r.stderr, "bootstrap_expect needs server mode") {
		t.Errorf("invalid combination: %q", r.stderr)
	}
	noDataDir := t.TempDir()
	writeFile(t, filepath.Join(noDataDir, "a.json"), `{"server":true}`)
	if r := e.want(1, "", "validate", noDataDir); !strings.Contains(r.stderr, "data_dir") {
		t.Errorf("missing data_dir: %q", r.stderr)
	}
}

func TestE2EInfoOnDevServer(t *testing.T) {
	e := startAgent(t)
	r := e.ok("info")
	for _, want := range []string{"agent:\n", "build:\n", "consul:\n", "raft:\n", "runtime:\n", "serf_lan:\n",
		"\tserver = true\n", "\tleader = true\n", "\tstate = Leader\n", "\tnum_peers = 0\n", "\tencrypted = false\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("info lacks %q:\n%s", want, r.stdout)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n") {
		if !regexp.MustCompile(`^([a-z_]+:|\t[a-z_]+ = .*)$`).MatchString(line) {
			t.Errorf("line %q is not `section:` or `\\tkey = value`", line)
		}
	}
}

// TestE2EInfoShowsACLs: info says whether the agent enforces ACLs, in
// the consul section as `consul info` does, and the agent's gossip tags
// say it too.
func TestE2EInfoShowsACLs(t *testing.T) {
	consulSection := func(out string) string {
		_, rest, _ := strings.Cut(out, "consul:\n")
		var b strings.Builder
		for _, line := range strings.SplitAfter(rest, "\n") {
			if !strings.HasPrefix(line, "\t") {
				break
			}
			b.WriteString(line)
		}
		return b.String()
	}
	e := startAgent(t)
	if c := consulSection(e.ok("info").stdout); !strings.Contains(c, "\tacl = disabled\n") {
		t.Errorf("consul section without ACLs:\n%s", c)
	}
	if r := e.ok("members", "-detailed"); !strings.Contains(r.stdout, "acls=0") {
		t.Errorf("members -detailed without ACLs:\n%s", r.stdout)
	}
	e = startAgent(t, testagent.WithHCL(`acl { enabled = true  default_policy = "deny"  tokens { initial_management = "root" } }`))
	if c := consulSection(e.ok("info", "-token", "root").stdout); !strings.Contains(c, "\tacl = enabled\n") {
		t.Errorf("consul section with ACLs enforced:\n%s", c)
	}
	if r := e.ok("members", "-detailed", "-token", "root"); !strings.Contains(r.stdout, "acls=1") {
		t.Errorf("members -detailed with ACLs:\n%s", r.stdout)
	}
}

func TestE2EGossipCommandsOnDevAgent(t *testing.T) {
	e := startAgent(t)
	r := e.want(1, "==> Gathering installed encryption keys...\n", "keyring", "-list")
	if !strings.Contains(r.stderr, "error: ") || !strings.Contains(r.stderr, "does not gossip") {
		t.Errorf("keyring on -dev: %q", r.stderr)
	}
	r = e.want(1, "", "join", "127.0.0.1:8301")
	if !strings.Contains(r.stderr, "does not gossip") || !strings.Contains(r.stderr, "Failed to join any nodes.") {
		t.Errorf("join on -dev: %q", r.stderr)
	}
	if r := e.want(1, "", "force-leave", "other"); !strings.Contains(r.stderr, "does not gossip") {
		t.Errorf("force-leave on -dev: %q", r.stderr)
	}
	r = e.ok("operator", "raft", "list-peers")
	if lines := strings.Split(strings.TrimSpace(r.stdout), "\n"); len(lines) != 2 || !strings.Contains(lines[1], " leader ") {
		t.Errorf("list-peers on -dev:\n%s", r.stdout)
	}
}
