package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beacon-sd/beacon/internal/waitfor"
)

// TestNginxSidecar runs the nginx example's scenarios on one stack, in an
// order that leaves the leader's death for last.
func TestNginxSidecar(t *testing.T) {
	s := newSidecar(t, sidecarOptions{})
	t.Run("ContainerStartAndStop", s.containerStartAndStop)
	t.Run("BrokenTemplateEdit", s.brokenTemplateEdit)
	t.Run("OnceInCI", s.onceInCI)
	t.Run("LeaderKilled", s.leaderKilled)
}

// settle is how long the test watches for a second render or reload after
// a change was applied.
const settle = 500 * time.Millisecond

// expectOne checks that a change cost exactly one render and one reload
// beyond the counts before it.
func (s *sidecar) expectOne(what string, renders, reloads int) {
	s.t.Helper()
	time.Sleep(settle)
	if n := s.renders() - renders; n != 1 {
		s.t.Errorf("%s: %d renders, want 1", what, n)
	}
	if n := s.reloads.count() - reloads; n != 1 {
		s.t.Errorf("%s: %d reload commands, want 1", what, n)
	}
}

// (1) A container starts: nginx serves it through the rendered upstream,
// with one render and one reload; the time from Docker's start event to
// the first answer is logged. A second instance joins the upstream; a
// stopped one leaves it; when the last stops, the site goes.
func (s *sidecar) containerStartAndStop(t *testing.T) {
	s.t = t
	renders, reloads := s.renders(), s.reloads.count()
	a := s.startApp("app-a")
	s.waitServedBy(a, 20*time.Second)
	answered := time.Now()
	if started, ok := s.events.when(a.id, "start", time.Second); ok {
		t.Logf("Docker start event → first answer through nginx: %v", answered.Sub(started).Round(100*time.Microsecond))
	}
	s.expectOne("first instance", renders, reloads)
	if !strings.Contains(s.site(), upstreamLine(a)) {
		t.Errorf("the upstream lacks %q:\n%s", upstreamLine(a), s.site())
	}

	renders, reloads = s.renders(), s.reloads.count()
	b := s.startApp("app-b", tcpChecked...)
	waitfor.Until(t, 20*time.Second, "the second instance in the upstream", func() bool {
		return strings.Contains(s.site(), upstreamLine(b))
	})
	s.waitServedBy(b, 10*time.Second)
	s.expectOne("second instance", renders, reloads)

	renders, reloads = s.renders(), s.reloads.count()
	s.stopApp(b)
	waitfor.Until(t, 20*time.Second, "the stopped instance to leave the upstream", func() bool {
		return !strings.Contains(s.site(), upstreamLine(b))
	})
	s.expectOne("an instance stopped", renders, reloads)
	s.waitServedBy(a, 10*time.Second)

	renders, reloads = s.renders(), s.reloads.count()
	s.stopApp(a)
	s.waitStatus(404, 20*time.Second)
	if strings.Contains(s.site(), appService) {
		t.Errorf("the site is still configured after its last instance stopped:\n%s", s.site())
	}
	s.expectOne("the last instance stopped", renders, reloads)
}

// (4) The template is edited on disk into something that does not parse:
// the renderer logs it and keeps the last good config, which nginx keeps
// serving; fixed, it renders again and nginx reloads once.
func (s *sidecar) brokenTemplateEdit(t *testing.T) {
	s.t = t
	a := s.startApp("app-edit")
	s.waitServedBy(a, 20*time.Second)
	time.Sleep(settle)
	good, err := os.ReadFile(s.src)
	if err != nil {
		t.Fatal(err)
	}
	before := s.site()
	renders, reloads := s.renders(), s.reloads.count()
	errors := s.tmpl.count("does not parse")

	if err := os.WriteFile(s.src, []byte("{{ range services }}\nupstream {{ .Name }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 10*time.Second, "the renderer to report the broken template", func() bool {
		return s.tmpl.count("does not parse") > errors
	})
	time.Sleep(settle)
	if s.site() != before {
		t.Errorf("the config changed after a broken template edit:\n%s", s.site())
	}
	if s.renders() != renders || s.reloads.count() != reloads {
		t.Errorf("a broken template was rendered (%d) or reloaded (%d)", s.renders()-renders, s.reloads.count()-reloads)
	}
	s.waitServedBy(a, time.Second)

	fixed := strings.Replace(string(good), "# Rendered by", "# Edited. Rendered by", 1)
	if err := os.WriteFile(s.src, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	waitfor.Until(t, 10*time.Second, "the fixed template to render", func() bool {
		return strings.Contains(s.site(), "# Edited. Rendered by")
	})
	s.expectOne("the fixed template", renders, reloads)
	s.waitServedBy(a, 5*time.Second)

	renders, reloads = s.renders(), s.reloads.count()
	s.stopApp(a)
	s.waitStatus(404, 20*time.Second)
	s.expectOne("the last instance stopped", renders, reloads)
}

// (5) -once, as a CI job renders: exit 0 with the file nginx gets, against
// the same agent; a template that does not parse exits non-zero, saying
// where, and writes nothing.
func (s *sidecar) onceInCI(t *testing.T) {
	s.t = t
	a := s.startApp("app-once")
	s.waitServedBy(a, 20*time.Second)
	dir := t.TempDir()
	out := filepath.Join(dir, "app.conf")
	cmd := exec.Command(beaconBin, "template", "-once", "-consul-addr", s.clientAddr(), "-template", s.src+":"+out)
	cmd.Env = append(os.Environ(), s.nginxEnv()...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("beacon template -once: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != s.site() {
		t.Errorf("-once rendered\n%s\nthe running renderer\n%s", got, s.site())
	}
	if !strings.Contains(string(got), upstreamLine(a)) {
		t.Errorf("-once output lacks %q", upstreamLine(a))
	}

	bad := filepath.Join(dir, "bad.ctmpl")
	if err := os.WriteFile(bad, []byte("{{ range services }}\n{{ .Name }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badOut := filepath.Join(dir, "bad.conf")
	b, err := exec.Command(beaconBin, "template", "-once", "-consul-addr", s.clientAddr(), "-template", bad+":"+badOut).CombinedOutput()
	if err == nil {
		t.Fatalf("-once with a template that does not parse exited 0:\n%s", b)
	}
	if !strings.Contains(string(b), "bad.ctmpl") {
		t.Errorf("the error does not name the template:\n%s", b)
	}
	if _, err := os.Stat(badOut); err == nil {
		t.Error("-once wrote a file from a template that does not parse")
	}
	s.stopApp(a)
	s.waitStatus(404, 20*time.Second)
	time.Sleep(settle)
}

// (3) The leader is killed while containers come and go: the config keeps
// what runs the whole time, nginx keeps serving it through the election,
// and the renderer, whose queries fail while the servers elect another
// leader, picks up the changes after. (While the second instance stops,
// only the config is checked: requests nginx has sent to a container as it
// dies wait on Docker's port proxy, whatever the renderer does.)
func (s *sidecar) leaderKilled(t *testing.T) {
	s.t = t
	a := s.startApp("app-stays")
	s.waitServedBy(a, 20*time.Second)
	time.Sleep(settle)

	stop := make(chan struct{})
	lost := make(chan string, 1)
	var electing atomic.Bool
	electing.Store(true)
	go func() {
		for {
			select {
			case <-stop:
				close(lost)
				return
			case <-time.After(20 * time.Millisecond):
			}
			if site, err := os.ReadFile(s.dest); err != nil || !strings.Contains(string(site), upstreamLine(a)) {
				lost <- string(site)
				return
			}
			// Either instance may answer, but one must.
			if !electing.Load() {
				continue
			}
			if code, body, err := s.get(); err != nil || code != 200 || !strings.Contains(body, "hello from") {
				lost <- fmt.Sprintf("nginx answered %d %q (error %v)", code, body, err)
				return
			}
		}
	}()

	leader := s.c.leader(10 * time.Second)
	killed := time.Now()
	leader.kill()
	b := s.startApp("app-during-election", tcpChecked...)
	waitfor.Until(t, 30*time.Second, "the instance started during the election in the upstream", func() bool {
		return strings.Contains(s.site(), upstreamLine(b))
	})
	s.waitServedBy(b, 10*time.Second)
	t.Logf("leader %s killed; an instance started then is served after %v", leader.name, time.Since(killed).Round(time.Millisecond))
	next := s.c.leader(10 * time.Second)
	if next == leader {
		t.Fatal("the killed server is still the leader")
	}
	electing.Store(false)

	s.stopApp(b)
	waitfor.Until(t, 20*time.Second, "the instance to leave the upstream", func() bool {
		return !strings.Contains(s.site(), upstreamLine(b))
	})
	close(stop)
	if msg, ok := <-lost; ok {
		t.Errorf("the running instance went missing while the leader changed: %s", msg)
	}
	s.stopApp(a)
	s.waitStatus(404, 20*time.Second)
}
