package command

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/beaconbin"
	"github.com/beacon-sd/beacon/internal/syncbuf"
)

// The real binary, run through a link named consul-template, renders,
// answers SIGUSR1 with its status, reloads on SIGHUP and stops on SIGTERM
// with exit code 0: the process's own signal handling, end to end.
func TestBinaryAsConsulTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the beacon binary")
	}
	dir := t.TempDir()
	bin, err := beaconbin.Build(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "consul-template")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	a := testagent.Start(t)
	a.Client.KV().Put(&api.KVPair{Key: "master/test", Value: []byte("test_data3")}, nil)
	src := write(t, filepath.Join(dir, "nginx.ctmpl"), `{{ key "master/test" }}`)
	dest, ran := filepath.Join(dir, "test.conf"), filepath.Join(dir, "ran")

	// Seed 004's command line.
	cmd := exec.Command(link, "-consul-addr", a.HTTPAddr, "-template", src+":"+dest+":pwd > "+ran, "-log-level", "info")
	cmd.Dir = dir
	stderr := &syncbuf.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer cmd.Process.Kill()

	eventually(t, "the render and its command", func() bool { return read(dest) == "test_data3" && strings.TrimSpace(read(ran)) == dir })
	a.Client.KV().Put(&api.KVPair{Key: "master/test", Value: []byte("updated")}, nil)
	eventually(t, "the re-render", func() bool { return read(dest) == "updated" })

	cmd.Process.Signal(syscall.SIGUSR1)
	eventually(t, "the status dump", func() bool { return strings.Contains(stderr.String(), "template "+src+" -> "+dest) })
	cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, "the reload", func() bool { return strings.Contains(stderr.String(), "reloading the configuration") })
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("still running after SIGTERM\n%s", stderr.String())
	}
}
