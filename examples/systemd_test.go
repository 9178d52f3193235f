package examples

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beacon-sd/beacon/core/testagent"
)

// unit is a systemd unit file: section → key → values in order.
type unit map[string]map[string][]string

// readUnit parses a unit file the way systemd reads one (sections, Key=Value
// lines, # and ; comments, backslash continuations).
func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	section := ""
	sc := bufio.NewScanner(f)
	var cont string
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cont != "" {
			line = cont + " " + line
			cont = ""
		}
		if strings.HasSuffix(line, "\\") {
			cont = strings.TrimSuffix(line, "\\")
			continue
		}
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a Key=Value line in a section: %q", path, n, line)
			}
			u[section][strings.TrimSpace(k)] = append(u[section][strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return u
}

// one returns the single value of a key, failing when it is not set once.
func (u unit) one(t *testing.T, section, key string) string {
	t.Helper()
	vs := u[section][key]
	if len(vs) != 1 {
		t.Fatalf("[%s] %s: %d values, want 1", section, key, len(vs))
	}
	return vs[0]
}

// TestSystemdUnits checks the server and client units: what they must say
// (user, restart, limits, reload), that the agent accepts their ExecStart
// flags with the matching sample config in /etc/beacon.d, and that their
// ExecReload command works against an agent.
func TestSystemdUnits(t *testing.T) {
	cases := []struct {
		unit, config string
		server       bool
	}{
		{"beacon-server.service", "server.hcl", true},
		{"beacon-client.service", "client.hcl", false},
	}
	key := gossipKey(t)
	for _, c := range cases {
		t.Run(c.unit, func(t *testing.T) {
			u := readUnit(t, example("systemd", c.unit))
			svc := "Service"
			for k, want := range map[string]string{
				"User": "beacon", "Group": "beacon", "Restart": "on-failure",
				"LimitNOFILE": "65536", "StateDirectory": "beacon",
				"ExecReload": "/usr/local/bin/beacon reload",
			} {
				if got := u.one(t, svc, k); got != want {
					t.Errorf("[Service] %s=%s, want %s", k, got, want)
				}
			}
			if got := u.one(t, "Install", "WantedBy"); got != "multi-user.target" {
				t.Errorf("WantedBy=%s", got)
			}
			argv := strings.Fields(u.one(t, svc, "ExecStart"))
			if len(argv) < 2 || argv[0] != "/usr/local/bin/beacon" || argv[1] != "agent" {
				t.Fatalf("ExecStart=%s: want /usr/local/bin/beacon agent ...", strings.Join(argv, " "))
			}

			// /etc/beacon.d as the README installs it: the sample config
			// and a file with the gossip key.
			etc := t.TempDir()
			copyFile(t, example("systemd", c.config), filepath.Join(etc, c.config))
			writeFile(t, filepath.Join(etc, "encrypt.hcl"), `encrypt = "`+key+`"`+"\n")
			cfg, err := agentConfig(t, argv[2:], map[string]string{"/etc/beacon.d": etc})
			if err != nil {
				t.Fatalf("beacon agent %s: %v", strings.Join(argv[2:], " "), err)
			}
			if !cfg.EnableSyslog {
				t.Error("ExecStart does not log to syslog (-syslog)")
			}
			if cfg.Server != c.server {
				t.Errorf("server = %v, want %v", cfg.Server, c.server)
			}
			if c.server && cfg.BootstrapExpect != 3 {
				t.Errorf("bootstrap_expect = %d, want 3", cfg.BootstrapExpect)
			}
			// StateDirectory=beacon is /var/lib/beacon, made for the user.
			if cfg.DataDir != "/var/lib/beacon" {
				t.Errorf("data_dir = %q, want /var/lib/beacon (the unit's StateDirectory)", cfg.DataDir)
			}
			if cfg.Encrypt != key {
				t.Error("the key file in /etc/beacon.d was not read")
			}
			if len(cfg.RetryJoin) == 0 {
				t.Error("no retry_join")
			}

			reload := strings.Fields(u.one(t, svc, "ExecReload"))
			checkSubcommand(t, reload[1:])
			a := testagent.Start(t)
			cmd := exec.Command(beaconBin, reload[1:]...)
			cmd.Env = append(os.Environ(), "CONSUL_HTTP_ADDR="+a.HTTPAddr)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("ExecReload against an agent: %v\n%s", err, out)
			}
		})
	}
}

// TestSystemdAnalyzeVerify has systemd's own checker read the units, with
// ExecStart pointing at the built binary.
func TestSystemdAnalyzeVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze is not installed (Debian's systemd package)")
	}
	dir := t.TempDir()
	for _, name := range []string{"beacon-server.service", "beacon-client.service"} {
		b, err := os.ReadFile(example("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, name), strings.ReplaceAll(string(b), "/usr/local/bin/beacon", beaconBin))
		out, err := exec.Command("systemd-analyze", "verify", "--man=no", filepath.Join(dir, name)).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", name, err, out)
		}
	}
}

// gossipKey makes a key with `beacon keygen`, as the READMEs do.
func gossipKey(t *testing.T) string {
	t.Helper()
	out, err := beacon(t, "keygen")
	if err != nil {
		t.Fatalf("beacon keygen: %v\n%s", err, out)
	}
	return strings.TrimSpace(out)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, string(b))
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
