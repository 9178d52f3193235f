package watcher

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/waitfor"
	"github.com/beacon-sd/beacon/watcher/consul"
	"github.com/beacon-sd/beacon/watcher/dep"
)

func client(t *testing.T, addr string) *consul.Client {
	t.Helper()
	c, err := consul.New(consul.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func start(t *testing.T, c *consul.Client, o Options) *Watcher {
	t.Helper()
	w := New(c, o)
	t.Cleanup(w.Stop)
	return w
}

// next waits for the watcher to report changes and returns them.
func next(t *testing.T, w *Watcher, within time.Duration) map[string]struct{} {
	t.Helper()
	select {
	case <-w.Changed():
		return w.TakeChanged()
	case err := <-w.Errors():
		t.Fatalf("watch failed: %v", err)
	case <-time.After(within):
		t.Fatalf("no change within %s", within)
	}
	return nil
}

func quiet(t *testing.T, w *Watcher, d time.Duration) {
	t.Helper()
	select {
	case <-w.Changed():
		t.Fatalf("unexpected change: %v", w.TakeChanged())
	case <-time.After(d):
	}
}

func TestSharedViewFollowsKeyChanges(t *testing.T) {
	a := testagent.Start(t)
	w := start(t, client(t, a.HTTPAddr), Options{Retry: DefaultRetry})
	k1, _ := dep.ParseKey("app/x")
	k2, _ := dep.ParseKey("/app/x") // the same key, written differently
	w.Add(k1)
	w.Add(k2)
	if w.Size() != 1 {
		t.Fatalf("%d views for one key, want 1", w.Size())
	}
	changed := next(t, w, 5*time.Second)
	if _, ok := changed["kv.get(app/x)"]; !ok {
		t.Fatalf("changed %v", changed)
	}
	if v, ok := w.Recall(k1); !ok || v.(*dep.KeyPair) != nil {
		t.Fatalf("absent key: %v %v", v, ok)
	}
	if _, err := a.Client.KV().Put(&api.KVPair{Key: "app/x", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	next(t, w, 2*time.Second)
	if v, _ := w.Recall(k1); v.(*dep.KeyPair).Value != "1" {
		t.Fatalf("value %v", v)
	}
	// Writing the same value again is not a change.
	a.Client.KV().Put(&api.KVPair{Key: "app/x", Value: []byte("1")}, nil)
	quiet(t, w, 300*time.Millisecond)
	// Another key's write wakes nobody here.
	a.Client.KV().Put(&api.KVPair{Key: "app/y", Value: []byte("2")}, nil)
	quiet(t, w, 300*time.Millisecond)

	w.Retain(map[string]bool{})
	if w.Size() != 0 {
		t.Fatalf("retain kept %d views", w.Size())
	}
	if _, ok := w.Recall(k1); ok {
		t.Fatal("a dropped view must forget its data")
	}
}

func TestServiceViewSeesNewInstance(t *testing.T) {
	a := testagent.Start(t)
	w := start(t, client(t, a.HTTPAddr), Options{Retry: DefaultRetry})
	q, _ := dep.ParseService("web")
	w.Add(q)
	next(t, w, 5*time.Second)
	reg := func(id string) {
		if _, err := a.Client.Catalog().Register(&api.CatalogRegistration{Node: "n1", Address: "10.1.1.1",
			Service: &api.AgentService{ID: id, Service: "web", Port: 80}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	reg("web-1")
	next(t, w, 2*time.Second)
	reg("web-2")
	next(t, w, 2*time.Second)
	v, _ := w.Recall(q)
	if got := len(v.([]*dep.HealthService)); got != 2 {
		t.Fatalf("%d instances", got)
	}
}

// script is a fake API that answers each request of one path with the next
// of a list of responses and records what it was asked.
type script struct {
	mu    sync.Mutex
	steps []step
	asked []string
}

type step struct {
	code        int
	index       string
	lastContact string
	body        string
	hold        time.Duration
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.asked = append(s.asked, r.URL.RawQuery)
	var st step
	if len(s.steps) > 0 {
		st, s.steps = s.steps[0], s.steps[1:]
	} else {
		st = step{hold: time.Hour}
	}
	s.mu.Unlock()
	if st.hold > 0 {
		select {
		case <-time.After(st.hold):
		case <-r.Context().Done():
			return
		}
	}
	if st.index != "" {
		w.Header().Set("X-Consul-Index", st.index)
	}
	if st.lastContact != "" {
		w.Header().Set("X-Consul-LastContact", st.lastContact)
	}
	if st.code != 0 {
		w.WriteHeader(st.code)
	}
	fmt.Fprint(w, st.body)
}

func (s *script) queries() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.asked...)
}

func scripted(t *testing.T, steps ...step) (*script, *consul.Client) {
	t.Helper()
	s := &script{steps: steps}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c, err := consul.New(consul.Config{Address: srv.URL, Protocol: consul.ProtocolHTTP1})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func kvBody(v string) string {
	return fmt.Sprintf(`[{"Key":"k","Value":%q}]`, base64.StdEncoding.EncodeToString([]byte(v)))
}

func TestIndexRulesAgainstAScriptedServer(t *testing.T) {
	s, c := scripted(t,
		step{index: "10", body: kvBody("a")},
		step{index: "10", body: kvBody("a")}, // a wait that timed out: same index
		step{index: "12", body: kvBody("a")}, // new index, same data: no change
		step{index: "5", body: kvBody("b")},  // index went backwards: reset
		step{index: "6", body: kvBody("b")},
	)
	w := start(t, c, Options{Retry: DefaultRetry, BlockWait: time.Second})
	k, _ := dep.ParseKey("k")
	w.Add(k)
	next(t, w, 2*time.Second)
	next(t, w, 5*time.Second)
	if v, _ := w.Recall(k); v.(*dep.KeyPair).Value != "b" {
		t.Fatalf("value %+v", v)
	}
	quiet(t, w, 300*time.Millisecond)
	want := []string{"", "index=10&wait=1000ms", "index=10&wait=1000ms", "index=12&wait=1000ms", "", "index=6&wait=1000ms"}
	if got := s.queries(); strings.Join(got, " ; ") != strings.Join(want, " ; ") {
		t.Errorf("queries\n got  %q\n want %q", got, want)
	}
}

func TestStaleReadsFallBackToTheLeader(t *testing.T) {
	s, c := scripted(t,
		step{index: "3", lastContact: "5000", body: kvBody("old")},
		step{index: "4", lastContact: "0", body: kvBody("fresh")},
	)
	w := start(t, c, Options{Retry: DefaultRetry, MaxStale: time.Second})
	k, _ := dep.ParseKey("k")
	w.Add(k)
	next(t, w, 2*time.Second)
	if v, _ := w.Recall(k); v.(*dep.KeyPair).Value != "fresh" {
		t.Fatalf("a too-stale answer was used: %+v", v)
	}
	got := s.queries()
	if len(got) < 2 || got[0] != "stale" || got[1] != "" {
		t.Errorf("queries %q, want a stale read then one without ?stale", got)
	}
}

func TestRetriesThenGivesUp(t *testing.T) {
	s, c := scripted(t,
		step{code: 500, body: "boom"},
		step{code: 500, body: "boom"},
		step{code: 500, body: "boom"},
	)
	w := start(t, c, Options{Retry: Retry{Enabled: true, Attempts: 2, Backoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}})
	k, _ := dep.ParseKey("k")
	w.Add(k)
	select {
	case err := <-w.Errors():
		var we *WatchError
		if !errors.As(err, &we) || we.Attempts != 3 || !strings.Contains(err.Error(), "500 boom") || !strings.Contains(err.Error(), "kv.get(k)") {
			t.Fatalf("error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error")
	}
	if n := len(s.queries()); n != 3 {
		t.Errorf("%d tries, want 3 (1 + 2 retries)", n)
	}
}

func TestRetryRecovers(t *testing.T) {
	_, c := scripted(t,
		step{code: 500, body: "boom"},
		step{code: 429, body: "slow down"},
		step{index: "2", body: kvBody("ok")},
	)
	w := start(t, c, Options{Retry: Retry{Enabled: true, Attempts: 5, Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}})
	k, _ := dep.ParseKey("k")
	w.Add(k)
	next(t, w, 5*time.Second)
	st, _ := w.StatusOf(k.String())
	if !st.Received || st.LastErr != nil || st.Failures != 0 {
		t.Errorf("status after recovery %+v", st)
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	r := Retry{Enabled: true, Backoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 9: time.Second} {
		for i := 0; i < 50; i++ {
			d := backoff(r, n)
			if d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want within [%s, %s]", n, d, want/2, want)
			}
		}
	}
}

func TestOnceModeStopsAfterFirstAnswer(t *testing.T) {
	s, c := scripted(t,
		step{index: "1", body: kvBody("a")},
		step{index: "2", body: kvBody("b")},
	)
	w := start(t, c, Options{Retry: DefaultRetry, Once: true})
	k, _ := dep.ParseKey("k")
	w.Add(k)
	next(t, w, 2*time.Second)
	time.Sleep(200 * time.Millisecond)
	if n := len(s.queries()); n != 1 {
		t.Fatalf("%d queries before Follow, want 1", n)
	}
	w.Follow(k.String())
	next(t, w, 2*time.Second)
	if v, _ := w.Recall(k); v.(*dep.KeyPair).Value != "b" {
		t.Fatalf("value %+v", v)
	}
}

func TestFileDependency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.txt")
	os.WriteFile(path, []byte("one"), 0o644)
	w := start(t, nil, Options{Retry: DefaultRetry})
	f, _ := dep.ParseFile(path)
	w.Add(f)
	next(t, w, 2*time.Second)
	os.WriteFile(path, []byte("two"), 0o644)
	// A poll may land between the write's truncate and its data, and
	// report the empty file first.
	waitfor.Until(t, 2*time.Second, "the file's new content", func() bool {
		v, _ := w.Recall(f)
		return v.(string) == "two"
	})
}

func TestFilesWatchesReplacementsAndNewFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.ctmpl")
	later := filepath.Join(dir, "later.ctmpl")
	os.WriteFile(a, []byte("1"), 0o644)
	f, err := NewFiles()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Add(a)
	f.Add(later)
	wait := func(want string) {
		t.Helper()
		deadline := time.After(3 * time.Second)
		for {
			select {
			case <-f.Changed():
				for _, p := range f.Take() {
					if p == want {
						return
					}
				}
			case <-deadline:
				t.Fatalf("no event for %s", want)
			}
		}
	}
	// An editor's save: write a temp file and rename it over.
	tmp := filepath.Join(dir, ".a.swp")
	os.WriteFile(tmp, []byte("2"), 0o644)
	os.Rename(tmp, a)
	wait(a)
	os.WriteFile(later, []byte("x"), 0o644)
	wait(later)
}
