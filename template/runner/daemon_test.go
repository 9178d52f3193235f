package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/template/internal/catalogtest"
)

func put(t *testing.T, a *testagent.Agent, k, v string) {
	t.Helper()
	if _, err := a.Client.KV().Put(&api.KVPair{Key: k, Value: []byte(v)}, nil); err != nil {
		t.Fatal(err)
	}
}

// Seed 004: a key change rewrites the file and runs the command once,
// within a second, with no -wait.
func TestDaemonKeyChangeRewritesAndRunsCommandOnce(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "master/test", "test_data3")
	dir := t.TempDir()
	src, dest, runs := filepath.Join(dir, "nginx.ctmpl"), filepath.Join(dir, "test.conf"), filepath.Join(dir, "runs")
	write(t, src, `{{ key "master/test" }}`)
	startRunner(t, setup(t, "", "-consul-addr", a.HTTPAddr, "-template", src+":"+dest+":cat "+dest+" >> "+runs+"; echo >> "+runs))

	eventually(t, 5*time.Second, "first render and command", func() bool { return len(lines(runs)) == 1 })
	if read(dest) != "test_data3" {
		t.Fatalf("dest %q", read(dest))
	}
	put(t, a, "master/test", "changed")
	took := eventually(t, time.Second, "the command after the key change", func() bool { return len(lines(runs)) == 2 })
	if read(dest) != "changed" || lines(runs)[1] != "changed" {
		t.Fatalf("dest %q, runs %q", read(dest), lines(runs))
	}
	t.Logf("key change -> command: %s", took)
	// The same value again changes nothing, and nothing runs twice.
	put(t, a, "master/test", "changed")
	time.Sleep(300 * time.Millisecond)
	if n := len(lines(runs)); n != 2 {
		t.Fatalf("command ran %d times, want 2", n)
	}
}

// Seed 000's nginx template: a new instance shows up in the file and the
// command runs once, within a second.
func TestDaemonNewInstanceRewritesAndRunsCommandOnce(t *testing.T) {
	a := testagent.Start(t)
	catalogtest.Seed(t, a.Client)
	dir := t.TempDir()
	dest, runs := filepath.Join(dir, "nginx.conf"), filepath.Join(dir, "runs")
	src, _ := filepath.Abs("../testdata/golden/seed000_nginx.ctmpl")
	startRunner(t, setup(t, "", "-consul-addr", a.HTTPAddr, "-template", src+":"+dest+":echo run >> "+runs))
	eventually(t, 5*time.Second, "first render", func() bool { return len(lines(runs)) == 1 })
	if strings.Contains(read(dest), "10.9.9.9") {
		t.Fatal("the new instance is there before it is registered")
	}
	catalogtest.Register(t, a.Client, catalogtest.Instance{Node: "node-d", Address: "10.9.9.9", ID: "web9", Name: "web", Port: 8089})
	took := eventually(t, time.Second, "the command after a new instance", func() bool { return len(lines(runs)) == 2 })
	if !strings.Contains(read(dest), "server 10.9.9.9:8089 max_fails=3") {
		t.Fatalf("new instance missing from:\n%s", read(dest))
	}
	t.Logf("registration -> command: %s", took)
	// A brand-new service gets its upstream too (a dependency found on the
	// way: services changes, then service "db" is watched).
	catalogtest.Register(t, a.Client, catalogtest.Instance{Node: "node-d", Address: "10.9.9.9", ID: "db1", Name: "db", Port: 5432})
	eventually(t, 2*time.Second, "the new service", func() bool {
		return strings.Contains(read(dest), "upstream db {") && strings.Contains(read(dest), "10.9.9.9:5432")
	})
	time.Sleep(200 * time.Millisecond)
	if n := len(lines(runs)); n > 4 {
		t.Errorf("command ran %d times for two registrations", n)
	}
}

// A burst of 50 registrations with -wait 500ms gives one render and one
// command run.
func TestWaitTurnsABurstIntoOneRender(t *testing.T) {
	a := testagent.Start(t)
	dir := t.TempDir()
	src, dest, runs := filepath.Join(dir, "t.ctmpl"), filepath.Join(dir, "out"), filepath.Join(dir, "runs")
	write(t, src, `{{ range service "burst" }}{{ .ID }} {{ end }}`)
	startRunner(t, setup(t, "", "-consul-addr", a.HTTPAddr, "-wait", "500ms", "-template", src+":"+dest+":echo run >> "+runs))
	eventually(t, 5*time.Second, "first render", func() bool { return len(lines(runs)) == 1 })
	for i := 0; i < 50; i++ {
		catalogtest.Register(t, a.Client, catalogtest.Instance{Node: "n", Address: "10.0.0.9", ID: fmt.Sprintf("b%02d", i), Name: "burst", Port: 1000 + i})
	}
	eventually(t, 3*time.Second, "the render after the burst", func() bool { return len(lines(runs)) == 2 })
	time.Sleep(time.Second)
	if n := len(lines(runs)); n != 2 {
		t.Fatalf("%d command runs, want 2 (initial + one for the burst)", n)
	}
	if got := len(strings.Fields(read(dest))); got != 50 {
		t.Fatalf("%d instances in the file, want 50", got)
	}
}

// A failing check keeps the old file and the command does not run.
func TestFailingCheckKeepsTheOldFile(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "cfg", "good 1")
	dir := t.TempDir()
	dest, runs := filepath.Join(dir, "app.conf"), filepath.Join(dir, "runs")
	hcl := fmt.Sprintf(`
consul { address = %q }
template {
  contents = "{{ key \"cfg\" }}"
  destination = %q
  command = "echo run >> %s"
  check = "grep -q good {{tmp}}"
}`, a.HTTPAddr, dest, runs)
	h := startRunner(t, setup(t, hcl))
	eventually(t, 5*time.Second, "first render", func() bool { return len(lines(runs)) == 1 })
	put(t, a, "cfg", "bad")
	eventually(t, 3*time.Second, "the check's rejection in the log", func() bool {
		return strings.Contains(h.log.String(), "check rejected the new "+dest)
	})
	if read(dest) != "good 1" || len(lines(runs)) != 1 {
		t.Fatalf("after a failed check: dest %q, %d runs", read(dest), len(lines(runs)))
	}
	// The rejected file is gone; one empty spare waits for the next write.
	if staged := stagedFiles(t, dir); len(staged) != 1 || staged[0] != "" {
		t.Errorf("staged files left behind: %q", staged)
	}
	put(t, a, "cfg", "good 2")
	eventually(t, 3*time.Second, "the next good render", func() bool { return read(dest) == "good 2" })
	eventually(t, time.Second, "its command", func() bool { return len(lines(runs)) == 2 })
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if staged := stagedFiles(t, dir); len(staged) != 0 {
		t.Errorf("staged files left after the renderer stopped: %q", staged)
	}
}

// stagedFiles are the contents of the hidden staged files in dir.
func stagedFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var staged []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			staged = append(staged, read(filepath.Join(dir, e.Name())))
		}
	}
	return staged
}

// Editing the template file re-renders; a broken edit or a removed file
// keeps the last good output.
func TestSourceChangesOnDisk(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "k", "v")
	dir := t.TempDir()
	src, dest := filepath.Join(dir, "t.ctmpl"), filepath.Join(dir, "out")
	write(t, src, `one {{ key "k" }}`)
	h := startRunner(t, setup(t, "", "-consul-addr", a.HTTPAddr, "-template", src+":"+dest))
	eventually(t, 5*time.Second, "first render", func() bool { return read(dest) == "one v" })
	write(t, src, `two {{ key "k" }}`)
	eventually(t, 3*time.Second, "render of the edited source", func() bool { return read(dest) == "two v" })
	write(t, src, "three {{ key \"k\" \n")
	eventually(t, 3*time.Second, "the parse error in the log", func() bool {
		return strings.Contains(h.log.String(), "does not parse") && strings.Contains(h.log.String(), src+":1")
	})
	os.Remove(src)
	eventually(t, 3*time.Second, "the removal in the log", func() bool { return strings.Contains(h.log.String(), "source unreadable") })
	put(t, a, "k", "w")
	eventually(t, 3*time.Second, "a render with the last good template", func() bool { return read(dest) == "two w" })
	write(t, src, `four {{ key "k" }}`)
	eventually(t, 3*time.Second, "the recreated source", func() bool { return read(dest) == "four w" })
}

// Templates that share a dependency share one watch, and the same command
// of two templates changed in one pass runs once.
func TestSharedWatchesAndCommandsOncePerPass(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "k", "1")
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	var args []string
	for i := 0; i < 10; i++ {
		src := filepath.Join(dir, fmt.Sprintf("t%d.ctmpl", i))
		write(t, src, fmt.Sprintf(`%d {{ key "k" }} {{ range service "web" }}{{ .ID }}{{ end }}`, i))
		args = append(args, "-template", fmt.Sprintf("%s:%s:echo run >> %s", src, filepath.Join(dir, fmt.Sprintf("o%d", i)), runs))
	}
	h := startRunner(t, setup(t, "", append([]string{"-consul-addr", a.HTTPAddr}, args...)...))
	eventually(t, 5*time.Second, "first render", func() bool { return len(lines(runs)) == 1 })
	if n := h.r.w.Size(); n != 2 {
		t.Errorf("%d watches for 10 templates using the same 2 dependencies, want 2", n)
	}
	put(t, a, "k", "2")
	eventually(t, 2*time.Second, "second run", func() bool { return len(lines(runs)) == 2 })
	time.Sleep(300 * time.Millisecond)
	if n := len(lines(runs)); n != 2 {
		t.Errorf("command ran %d times, want 2", n)
	}
	for i := 0; i < 10; i++ {
		if got := read(filepath.Join(dir, fmt.Sprintf("o%d", i))); got != fmt.Sprintf("%d 2 ", i) {
			t.Errorf("o%d = %q", i, got)
		}
	}
}

// Commands run in template order after the files of the pass are written.
func TestCommandsRunInTemplateOrder(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "k", "1")
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	var args []string
	for _, n := range []string{"c", "a", "b"} {
		args = append(args, "-template", fmt.Sprintf("%s:%s:echo %s $(cat %s) >> %s",
			writeTmpl(t, dir, n, `{{ key "k" }}`), filepath.Join(dir, n+".out"), n, filepath.Join(dir, "a.out"), runs))
	}
	err, log, _ := runOnce(t, setup(t, "", append([]string{"-consul-addr", a.HTTPAddr, "-once"}, args...)...))
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if got := strings.Join(lines(runs), ","); got != "c 1,a 1,b 1" {
		t.Errorf("runs %q: want template order, each seeing every file of the pass", got)
	}
}

func writeTmpl(t *testing.T, dir, name, content string) string {
	p := filepath.Join(dir, name+".ctmpl")
	write(t, p, content)
	return p
}

// A command that hangs is killed at its timeout and the renderer goes on.
func TestCommandTimeout(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "k", "1")
	dir := t.TempDir()
	hcl := fmt.Sprintf(`
consul { address = %q }
template {
  contents = "{{ key \"k\" }}"
  destination = %q
  command = "sleep 30"
  command_timeout = "200ms"
}`, a.HTTPAddr, filepath.Join(dir, "out"))
	h := startRunner(t, setup(t, hcl))
	eventually(t, 5*time.Second, "the timeout in the log", func() bool { return strings.Contains(h.log.String(), "timed out after 200ms") })
	put(t, a, "k", "2")
	eventually(t, 3*time.Second, "the next render", func() bool { return read(filepath.Join(dir, "out")) == "2" })
}

// An execution error in daemon mode is logged, the last good file stays,
// and the next good data renders again.
func TestDaemonSurvivesExecutionErrors(t *testing.T) {
	a := testagent.Start(t)
	put(t, a, "n", "1")
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	h := startRunner(t, setup(t, "", "-consul-addr", a.HTTPAddr, "-template", writeTmpl(t, dir, "n", `{{ key "n" | parseInt | add 1 }}`)+":"+dest))
	eventually(t, 5*time.Second, "first render", func() bool { return read(dest) == "2" })
	put(t, a, "n", "not a number")
	eventually(t, 3*time.Second, "the error in the log", func() bool {
		return strings.Contains(h.log.String(), "is not an integer") && strings.Contains(h.log.String(), "n.ctmpl:1:13")
	})
	if read(dest) != "2" {
		t.Fatalf("dest %q after a failed render", read(dest))
	}
	put(t, a, "n", "41")
	eventually(t, 3*time.Second, "the next good render", func() bool { return read(dest) == "42" })
}
