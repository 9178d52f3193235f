package integration

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/internal/waitfor"
	"github.com/beacon-sd/beacon/internal/zeros"
)

var snapshotRSS = flag.Bool("snapshot.rss", false, "run TestSnapshotRestoreMemory: a 200 MiB state saved and restored into a fresh agent, its peak RSS measured")

// memory is a process's resident set now (VmRSS) and at its peak (VmHWM),
// in bytes, from /proc/<pid>/status.
func memory(t *testing.T, pid int) (rss, peak int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		}
	}
	return rss, peak
}

// resetPeak makes VmHWM start again from the current RSS.
func resetPeak(t *testing.T, pid int) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		t.Logf("cannot reset the peak RSS of %d (%v); VmHWM counts from the start", pid, err)
	}
}

const mib = 1 << 20

// Eight anonymous 250 MiB snapshot uploads at once to an agent under
// default_policy deny are answered 403 before their bodies are read: the
// clients send little of them and the agent's RSS hardly moves.
func TestAnonymousUploadsRefusedUnread(t *testing.T) {
	c := newCluster(t, 1, 0, map[string]interface{}{
		"acl": map[string]interface{}{"enabled": true, "default_policy": "deny",
			"tokens": map[string]interface{}{"initial_management": "root", "agent": "root"}},
	})
	a := c.agents[0]
	a.client = clientWithToken(a, "root")
	c.ready(30 * time.Second)
	pid := a.cmd.Process.Pid
	resetPeak(t, pid)
	before, _ := memory(t, pid)

	const uploads, size = 8, 250 * mib
	var wg sync.WaitGroup
	results := make([]string, uploads)
	bodies := make([]*zeros.Reader, uploads)
	for i := range uploads {
		bodies[i] = zeros.New(size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("PUT", fmt.Sprintf("http://127.0.0.1:%d/v1/snapshot", a.http), bodies[i])
			req.ContentLength = size
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				results[i] = err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results[i] = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
		}()
	}
	wg.Wait()
	_, peak := memory(t, pid)
	for i, r := range results {
		if !strings.HasPrefix(r, "403 Permission denied") {
			t.Errorf("upload %d: got %q, want 403 Permission denied", i, r)
		}
		if n := bodies[i].Taken(); n > 32*mib {
			t.Errorf("upload %d: the client sent %d MiB of its body to be refused", i, n/mib)
		}
	}
	t.Logf("RSS %d MiB before the uploads, peak %d MiB during them", before/mib, peak/mib)
	if peak-before > 64*mib {
		t.Errorf("RSS grew by %d MiB while refusing %d uploads, want at most 64", (peak-before)/mib, uploads)
	}
	if _, err := a.client.KV().Put(&api.KVPair{Key: "after", Value: []byte("1")}, nil); err != nil {
		t.Fatalf("the agent stopped serving: %v", err)
	}
}

// A 200 MiB state (KV values of 512 KiB) saved from one agent and restored
// into a fresh one through the HTTP API: the fresh agent's RSS peaks below
// twice the state restored. Slow (it writes and moves 200 MiB three
// times); run with -snapshot.rss.
func TestSnapshotRestoreMemory(t *testing.T) {
	if !*snapshotRSS {
		t.Skip("run with -snapshot.rss")
	}
	const value, state = 512 << 10, 200 * mib
	src := newCluster(t, 1, 0, nil)
	src.ready(30 * time.Second)
	kv := src.agents[0].client.KV()
	want := make([]byte, value)
	for i := range state / value {
		rand.Read(want)
		if _, err := kv.Put(&api.KVPair{Key: fmt.Sprintf("big/%04d", i), Value: want}, nil); err != nil {
			t.Fatal(err)
		}
	}
	snap, _, err := src.agents[0].client.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "state.snap")
	f, _ := os.Create(file)
	n, err := io.Copy(f, snap)
	snap.Close()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshot of %d MiB", n/mib)
	src.agents[0].kill()

	dst := newCluster(t, 1, 0, nil)
	dst.ready(30 * time.Second)
	d := dst.agents[0]
	pid := d.cmd.Process.Pid
	resetPeak(t, pid)
	before, _ := memory(t, pid)
	archive, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer archive.Close()
	start := time.Now()
	if err := d.client.Snapshot().Restore(nil, archive); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	after, peak := memory(t, pid)
	t.Logf("restore took %v; RSS %d MiB before, %d MiB after, peak %d MiB, for a state of %d MiB",
		took.Round(time.Millisecond), before/mib, after/mib, peak/mib, state/mib)
	p, _, err := d.client.KV().Get(fmt.Sprintf("big/%04d", state/value-1), nil)
	if err != nil || p == nil || !bytes.Equal(p.Value, want) {
		t.Fatalf("restored value differs (err %v)", err)
	}
	if peak >= 2*state {
		t.Errorf("peak RSS %d MiB restoring a %d MiB state, want under %d", peak/mib, state/mib, 2*state/mib)
	}
}

// A burst of request bodies the agent had to hold (512 KiB KV values, all
// refused after reading for a bad ?cas) leaves no lasting mark: once it is
// over, the agent's RSS comes back down instead of staying at its peak.
func TestMemoryReturnedAfterBurst(t *testing.T) {
	c := newCluster(t, 1, 0, nil)
	c.ready(30 * time.Second)
	a := c.agents[0]
	pid := a.cmd.Process.Pid
	base, _ := memory(t, pid)
	resetPeak(t, pid)
	value := bytes.Repeat([]byte("v"), 512<<10)
	var wg sync.WaitGroup
	for round := 0; round < 4; round++ {
		for i := 0; i < 64; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest("PUT", fmt.Sprintf("http://127.0.0.1:%d/v1/kv/burst/%d?cas=x", a.http, i), bytes.NewReader(value))
				if resp, err := http.DefaultClient.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
	}
	_, peak := memory(t, pid)
	t.Logf("RSS %d MiB before the burst, peak %d MiB", base/mib, peak/mib)
	if peak-base < 32*mib {
		t.Skipf("the burst took only %d MiB", (peak-base)/mib)
	}
	start := time.Now()
	waitfor.Until(t, 30*time.Second, "the burst's memory to be given back", func() bool {
		rss, _ := memory(t, pid)
		return rss-base < (peak-base)/3
	})
	rss, _ := memory(t, pid)
	t.Logf("RSS %d MiB %v after the burst", rss/mib, time.Since(start).Round(100*time.Millisecond))
}
