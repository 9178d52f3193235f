package watcher

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/watcher/dep"
)

// A service's last instance goes at index 6: the instance view answers
// first, the list's view not yet. ListsBehind names the list once, and
// Refresh reads it without blocking, reports the change and leaves the
// view's own index alone.
func TestListsBehindAnInstanceListThatWentEmpty(t *testing.T) {
	gone := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		blocking := r.URL.Query().Get("index") != ""
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/catalog/services":
			if blocking {
				<-r.Context().Done() // the list's view stays behind
				return
			}
			select {
			case <-gone:
				w.Header().Set("X-Consul-Index", "6")
				fmt.Fprint(w, `{"consul": []}`)
			default:
				w.Header().Set("X-Consul-Index", "5")
				fmt.Fprint(w, `{"consul": [], "web": ["calico"]}`)
			}
		case "/v1/health/service/web":
			if blocking {
				select {
				case <-gone:
				case <-r.Context().Done():
					return
				}
				w.Header().Set("X-Consul-Index", "6")
				fmt.Fprint(w, `[]`)
				return
			}
			w.Header().Set("X-Consul-Index", "5")
			fmt.Fprint(w, `[{"Node": {"Node": "n1", "Address": "10.0.0.1"},
				"Service": {"ID": "web1", "Service": "web", "Port": 80, "Tags": ["calico"]}, "Checks": []}]`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close) // after the watcher stops: its queries end first
	w := start(t, client(t, srv.Listener.Addr().String()), Options{Retry: DefaultRetry})
	list, _ := dep.ParseServices()
	web, _ := dep.ParseService("web")
	w.Add(list)
	w.Add(web)
	for got := map[string]struct{}{}; len(got) < 2; {
		for k := range next(t, w, 5*time.Second) {
			got[k] = struct{}{}
		}
	}
	if behind := w.ListsBehind(map[string]struct{}{web.String(): {}, list.String(): {}}); len(behind) != 0 {
		t.Fatalf("lists behind before any change: %v", behind)
	}

	close(gone)
	changed := nextWith(t, w, web.String())
	behind := w.ListsBehind(changed)
	if len(behind) != 1 || behind[0] != (Behind{Key: list.String(), Index: 6}) {
		t.Fatalf("lists behind %v, want [{%s 6}]", behind, list)
	}
	if again := w.ListsBehind(changed); len(again) != 0 {
		t.Errorf("the same change reported twice: %v", again)
	}

	done := make(chan struct{})
	w.Refresh(behind[0], 5*time.Second, func() { close(done) })
	<-done
	nextWith(t, w, list.String())
	v, _ := w.Recall(list)
	if names := v.([]*dep.CatalogSnippet); len(names) != 1 || names[0].Name != "consul" {
		t.Errorf("the list after the refresh: %v", names)
	}
	if st, _ := w.StatusOf(list.String()); st.LastIndex != 5 {
		t.Errorf("the list's view is at index %d, want its own 5", st.LastIndex)
	}
}

// nextWith waits for a report of changes that includes key.
func nextWith(t *testing.T, w *Watcher, key string) map[string]struct{} {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		changed := next(t, w, time.Until(deadline))
		if _, ok := changed[key]; ok {
			return changed
		}
	}
	t.Fatalf("no change of %s reported", key)
	return nil
}
