package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
)

// shortDebug lets a test capture for seconds rather than minutes.
func shortDebug(t *testing.T) {
	old := debugLimits
	debugLimits.duration, debugLimits.interval = time.Second, 500*time.Millisecond
	t.Cleanup(func() { debugLimits = old })
}

// readArchive lists a .tar.gz's entries with their contents.
func readArchive(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out[hdr.Name] = b
	}
}

func runDebug(t *testing.T, a *testagent.Agent, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"beacon", "debug", "-http-addr", a.HTTPAddr}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// A capture of an agent that serves profiles holds every part: the agent,
// its host and members once; metrics samples, heap and goroutine profiles
// every interval; the log of what happened meanwhile; a CPU profile and a
// trace.
func TestDebugArchive(t *testing.T) {
	shortDebug(t)
	a := testagent.Start(t) // -dev: enable_debug
	out := filepath.Join(t.TempDir(), "capture")
	go func() {
		time.Sleep(time.Second)
		a.Client.Agent().ServiceRegister(&api.AgentServiceRegistration{Name: "during-capture"})
	}()
	code, stdout, stderr := runDebug(t, a, "-duration", "3s", "-interval", "1s", "-output", out)
	if code != 0 || !strings.Contains(stdout, "Saved debug archive: "+out+".tar.gz") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("the output directory is left beside the archive: %v", err)
	}
	files := readArchive(t, out+".tar.gz")
	var names []string
	heaps, goroutines := 0, 0
	for name := range files {
		names = append(names, name)
		if !strings.HasPrefix(name, "capture/") {
			t.Errorf("entry %s is not under capture/", name)
		}
		heaps += strings.Count(name, "/heap.prof")
		goroutines += strings.Count(name, "/goroutine.prof")
	}
	for _, want := range []string{"index.json", "agent.json", "host.json", "members.json", "metrics.json", "consul.log", "profile.prof", "trace.out"} {
		if len(files["capture/"+want]) == 0 {
			t.Errorf("%s missing or empty; entries: %v", want, names)
		}
	}
	if heaps < 2 || goroutines < 2 {
		t.Errorf("%d heap and %d goroutine profiles over 3s at 1s intervals: %v", heaps, goroutines, names)
	}
	var self map[string]map[string]interface{}
	if err := json.Unmarshal(files["capture/agent.json"], &self); err != nil || self["Config"]["NodeName"] != a.Agent.Node().Node {
		t.Errorf("agent.json: %v %v", err, self["Config"])
	}
	samples := strings.Count(strings.TrimSpace(string(files["capture/metrics.json"])), "\n") + 1
	if samples < 2 || !strings.Contains(string(files["capture/metrics.json"]), `"Gauges"`) {
		t.Errorf("%d metrics samples: %.200s", samples, files["capture/metrics.json"])
	}
	if !strings.Contains(string(files["capture/consul.log"]), "synced service: service=during-capture") {
		t.Errorf("the log lacks the registration made during the capture:\n%s", files["capture/consul.log"])
	}
	var index map[string]interface{}
	if err := json.Unmarshal(files["capture/index.json"], &index); err != nil || index["AgentVersion"] != "1.22.3" ||
		len(index["Targets"].([]interface{})) != 6 {
		t.Errorf("index.json: %v %s", err, files["capture/index.json"])
	}
}

// Without enable_debug (and without ACLs) the agent serves no profiles:
// the capture says so and goes on without them; -capture limits what is
// taken, and -archive=false leaves the directory.
func TestDebugWithoutProfiles(t *testing.T) {
	shortDebug(t)
	a := testagent.Start(t, testagent.WithJSON(`{"enable_debug": false}`))
	out := filepath.Join(t.TempDir(), "capture")
	code, _, stderr := runDebug(t, a, "-duration", "1s", "-interval", "500ms", "-output", out,
		"-capture", "pprof", "-capture", "cluster", "-capture", "host", "-archive=false")
	if code != 0 || !strings.Contains(stderr, "Unable to capture pprof") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	entries, _ := os.ReadDir(out)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "host.json,index.json,members.json" {
		t.Fatalf("captured %v", names)
	}
}

// What cannot make a capture is refused before anything is written.
func TestDebugRefusals(t *testing.T) {
	a := testagent.Start(t)
	dir := t.TempDir()
	exists := filepath.Join(dir, "exists")
	os.Mkdir(exists, 0o755)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-duration", "5s"}, "duration must be longer than 10s"},
		{[]string{"-interval", "1s"}, "interval must be longer than 5s"},
		{[]string{"-duration", "20s", "-interval", "30s"}, "duration (20s) must be longer than interval (30s)"},
		{[]string{"-capture", "coredumps"}, "target not found: coredumps"},
		{[]string{"-since", "1h"}, "-since"},
		{[]string{"-output", exists}, "output directory already exists"},
		{[]string{"extra"}, "Too many arguments"},
	} {
		code, _, stderr := runDebug(t, a, append([]string{"-output", filepath.Join(dir, "out")}, tc.args...)...)
		if code != 1 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); !os.IsNotExist(err) {
		t.Fatalf("a refused capture wrote its output: %v", err)
	}
}
