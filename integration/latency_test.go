package integration

import (
	"flag"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

var latencyCycles = flag.Int("latency.cycles", 20, "containers started and stopped by BenchmarkNginxLatency")

// BenchmarkNginxLatency measures, stage by stage, how long a container
// start or stop takes to reach nginx through the whole stack of the nginx
// example (three servers, a client agent, registrator, beacon template
// without -wait, the reload script, Debian's nginx):
//
//	event      Docker's start (or die) event, by Docker's clock
//	catalog    the leader's catalog lists the instance (or no longer does)
//	written    the renderer replaced conf.d/app.conf
//	command    the reload command started
//	answer     nginx answered from the new container (or, the site gone,
//	           with its default server's 404)
//
// Each cycle starts one container of a service that has no other instance
// (its site appears) and stops it (its site goes), so each change is the
// one that moves both the service list and the service's instances. Every
// change must cost exactly one render and one reload.
//
//	go test -run '^$' -bench NginxLatency -benchtime 1x -v ./integration -latency.cycles 40
func BenchmarkNginxLatency(b *testing.B) {
	s := newSidecar(b, sidecarOptions{})
	leader := s.c.leader(10 * time.Second)
	cat := watchCatalog(b, leader.client, appService)

	var start, stop []stageTimes
	extra := 0
	for i := 0; i < *latencyCycles; i++ {
		renders, reloads := s.renders(), s.reloads.count()
		a := s.startApp(fmt.Sprintf("lat-%d", i))
		st := s.measure(b, a, "start", 1, reloads, cat, func(code int, body string) bool {
			return code == 200 && strings.Contains(body, a.host)
		})
		start = append(start, st)
		extra += s.countExtra(b, "start", renders, reloads)

		renders, reloads = s.renders(), s.reloads.count()
		s.stopApp(a)
		st = s.measure(b, a, "die", 0, reloads, cat, func(code int, _ string) bool { return code == 404 })
		stop = append(stop, st)
		extra += s.countExtra(b, "stop", renders, reloads)
	}
	report(b, "start", start)
	report(b, "stop", stop)
	if extra > 0 {
		b.Errorf("%d changes cost more than one render or reload", extra)
	}
}

// stageTimes are the moments of one change, by stage.
type stageTimes struct {
	event, catalog, written, command, answer time.Time
}

// measure collects the stage times of a container's event: want is the
// instance count the catalog shows after it, reloads the reload count
// before it.
func (s *sidecar) measure(b testing.TB, a *app, action string, want, reloads int, cat *catalogWatch,
	done func(code int, body string) bool) stageTimes {
	b.Helper()
	var st stageTimes
	var ok bool
	if st.event, ok = s.events.when(a.id, action, 10*time.Second); !ok {
		b.Fatalf("no %s event for %s", action, a.host)
	}
	if st.command, ok = s.reloads.wait(reloads+1, 10*time.Second); !ok {
		b.Fatalf("no reload command after the %s of %s", action, a.host)
	}
	// Ask nginx as fast as it answers from the moment the command started.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body, err := s.get()
		if err == nil && done(code, body) {
			st.answer = time.Now()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("nginx did not answer as expected after the %s of %s: %d %q %v", action, a.host, code, body, err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	st.catalog = cat.reached(want, st.event)
	st.written = s.writes.after(st.event)
	return st
}

// countExtra waits for stray renders and reloads after a change and
// reports how many changes cost more than one of each (0 or 1).
func (s *sidecar) countExtra(b testing.TB, what string, renders, reloads int) int {
	time.Sleep(300 * time.Millisecond)
	r, l := s.renders()-renders, s.reloads.count()-reloads
	if r != 1 || l != 1 {
		b.Logf("%s: %d renders, %d reloads", what, r, l)
		return 1
	}
	return 0
}

// after is the first time at or after t, zero if none.
func (s *stamps) after(t time.Time) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, at := range s.at {
		if !at.Before(t) {
			return at
		}
	}
	return time.Time{}
}

// catalogWatch follows a service's instance count with blocking queries,
// noting when each count was first seen.
type catalogWatch struct {
	mu   sync.Mutex
	seen []countAt
}

type countAt struct {
	n  int
	at time.Time
}

func watchCatalog(t testing.TB, c *api.Client, service string) *catalogWatch {
	w := &catalogWatch{}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		var index uint64
		for {
			select {
			case <-stop:
				return
			default:
			}
			entries, meta, err := c.Catalog().Service(service, "", &api.QueryOptions{WaitIndex: index, WaitTime: time.Minute})
			now := time.Now()
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			index = meta.LastIndex
			w.mu.Lock()
			if len(w.seen) == 0 || w.seen[len(w.seen)-1].n != len(entries) {
				w.seen = append(w.seen, countAt{n: len(entries), at: now})
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// reached is when the count first became n after t.
func (w *catalogWatch) reached(n int, t time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range w.seen {
		if c.n == n && !c.at.Before(t) {
			return c.at
		}
	}
	return time.Time{}
}

// report logs p50 and p90 of each stage and of the spans that matter, and
// reports the medians as benchmark metrics.
func report(b *testing.B, what string, runs []stageTimes) {
	type span struct {
		name     string
		from, to func(stageTimes) time.Time
	}
	ev := func(s stageTimes) time.Time { return s.event }
	ca := func(s stageTimes) time.Time { return s.catalog }
	wr := func(s stageTimes) time.Time { return s.written }
	co := func(s stageTimes) time.Time { return s.command }
	an := func(s stageTimes) time.Time { return s.answer }
	spans := []span{
		{"event→catalog", ev, ca},
		{"catalog→written", ca, wr},
		{"written→command", wr, co},
		{"command→answer", co, an},
		{"event→command (beacon)", ev, co},
		{"event→answer", ev, an},
	}
	lines := []string{fmt.Sprintf("%s, %d changes:", what, len(runs))}
	for _, sp := range spans {
		var d []time.Duration
		for _, r := range runs {
			if f, t := sp.from(r), sp.to(r); !f.IsZero() && !t.IsZero() {
				d = append(d, t.Sub(f))
			}
		}
		if len(d) == 0 {
			continue
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		p50, p90 := d[len(d)/2], d[len(d)*9/10]
		lines = append(lines, fmt.Sprintf("  %-24s p50 %7.2fms  p90 %7.2fms  (n=%d)", sp.name, ms(p50), ms(p90), len(d)))
		switch sp.name {
		case "event→command (beacon)":
			b.ReportMetric(ms(p50), what+"-beacon-p50-ms")
		case "event→answer":
			b.ReportMetric(ms(p50), what+"-answer-p50-ms")
		}
	}
	b.Log(strings.Join(lines, "\n"))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
