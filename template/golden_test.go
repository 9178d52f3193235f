package template_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/template"
	"github.com/beacon-sd/beacon/template/internal/catalogtest"
	"github.com/beacon-sd/beacon/watcher"
	"github.com/beacon-sd/beacon/watcher/consul"
)

var update = flag.Bool("update", false, "rewrite the golden files with the rendered output")

// renderLive executes tm against a real agent until every dependency it
// discovers has data, as the renderer does, and returns the output.
func renderLive(t *testing.T, w *watcher.Watcher, tm *template.Template) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		res, err := tm.Execute(w)
		if err != nil {
			t.Fatalf("execute %s: %v", tm.Name(), err)
		}
		for _, d := range res.Used {
			w.Add(d)
		}
		if len(res.Missing) == 0 {
			return string(res.Output)
		}
		select {
		case <-w.Changed():
			w.TakeChanged()
		case err := <-w.Errors():
			t.Fatalf("watch: %v", err)
		case <-deadline:
			t.Fatalf("%s still waits for %v", tm.Name(), res.Missing)
		}
	}
}

func newWatcher(t *testing.T, addr string) *watcher.Watcher {
	t.Helper()
	c, err := consul.New(consul.Config{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	w := watcher.New(c, watcher.Options{Retry: watcher.DefaultRetry})
	t.Cleanup(func() { w.Stop(); c.Close() })
	return w
}

// Every template under testdata/golden (the seed articles' templates and
// the documented example of each function) renders against a real agent
// holding the standard catalog exactly as its .golden file says.
func TestGoldenAgainstAgent(t *testing.T) {
	a := testagent.Start(t)
	catalogtest.Seed(t, a.Client)
	w := newWatcher(t, a.HTTPAddr)

	paths, err := filepath.Glob("testdata/golden/*.ctmpl")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".ctmpl")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			tm, err := template.New(p, string(src), template.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := renderLive(t, w, tm)
			golden := strings.TrimSuffix(p, ".ctmpl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s rendered differently from %s:\n--- got\n%s\n--- want\n%s", p, golden, got, want)
			}
		})
	}
}

// A key written after the first render shows up in the next one: the
// watcher's blocking query wakes on the write.
func TestKeyChangeReachesTemplate(t *testing.T) {
	a := testagent.Start(t)
	w := newWatcher(t, a.HTTPAddr)
	tm, err := template.New("seed004", `{{ key "master/test" }}`, template.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Client.KV().Put(&apiPair{Key: "master/test", Value: []byte("one")}, nil); err != nil {
		t.Fatal(err)
	}
	if got := renderLive(t, w, tm); got != "one" {
		t.Fatalf("first render %q", got)
	}
	if _, err := a.Client.KV().Put(&apiPair{Key: "master/test", Value: []byte("two")}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	select {
	case <-w.Changed():
	case <-ctx.Done():
		t.Fatal("no change noticed")
	}
	if got := renderLive(t, w, tm); got != "two" {
		t.Fatalf("after the write %q", got)
	}
}

type apiPair = api.KVPair
