package dockertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/freeport"
)

func TestEngineServesAContainerOnLoopback(t *testing.T) {
	e := Start(t)
	port := freeport.Port(t)
	e.Run(t, Container{Name: "web", Publish: map[string]int{"80/tcp": port}})
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(body, "hello from busybox") {
		t.Fatalf("GET %s = %q", url, body)
	}
	info, err := e.Client.ContainerInspect(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if b := info.NetworkSettings.Ports["80/tcp"]; len(b) == 0 || b[0].HostIP != "127.0.0.1" {
		t.Errorf("published on %v, want 127.0.0.1 only", b)
	}
}

func TestEngineRestartKeepsData(t *testing.T) {
	e := Start(t)
	id := e.Run(t, Container{Name: "web"})
	t0 := time.Now()
	e.StopDaemon()
	t.Logf("stop took %v", time.Since(t0))
	t0 = time.Now()
	e.StartDaemon()
	t.Logf("start took %v", time.Since(t0))
	info, err := e.Client.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Running {
		t.Errorf("container still running after the engine stopped")
	}
}
