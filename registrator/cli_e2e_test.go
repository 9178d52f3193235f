package registrator_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/beaconbin"
	"github.com/beacon-sd/beacon/internal/freeport"
	"github.com/beacon-sd/beacon/registrator/dockertest"
)

// The binary, invoked through a link named registrator as Registrator's
// image runs it, with the flags: containers register, stop
// deregisters, SIGTERM exits 0 and leaves running services registered.
func TestRegistratorBinary(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	bin, err := beaconbin.Build(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "registrator")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	cmd := exec.Command(link, "-internal=false", "-resync", "30", "-cleanup", "-deregister", "always",
		"-tags", "e2e", "consul://"+h.agent.HTTPAddr)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+h.eng.Host)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("registrator output:\n%s", logs.String())
		}
	})

	port := freeport.Port(t)
	id := h.eng.Run(t, dockertest.Container{Name: "nginx-test",
		Env:     []string{"SERVICE_NAME=nginx-test", "SERVICE_TAGS=calico", "SERVICE_ID=nginx-test-1"},
		Publish: map[string]int{"80/tcp": port}})
	got := h.waitCatalog("nginx-test", 1, 3*time.Second)[0]
	if got.ServiceID != "nginx-test-1" || strings.Join(got.ServiceTags, ",") != "calico,e2e" || got.ServicePort != port {
		t.Errorf("registered %s %v port %d", got.ServiceID, got.ServiceTags, got.ServicePort)
	}
	h.eng.Run(t, dockertest.Container{Name: "keep", Env: []string{"SERVICE_NAME=keep"},
		Publish: map[string]int{"80/tcp": freeport.Port(t)}})
	h.waitCatalog("keep", 1, 3*time.Second)

	h.eng.Stop(t, id, 1)
	h.waitCatalog("nginx-test", 0, time.Second)

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit within 10s of SIGTERM")
	}
	if n := len(h.catalog("keep")); n != 1 {
		t.Errorf("a running container's service left with the registrator: %d instances", n)
	}
}
