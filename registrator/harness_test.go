package registrator_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/syncbuf"
	"github.com/beacon-sd/beacon/registrator"
	"github.com/beacon-sd/beacon/registrator/dockertest"
	"github.com/beacon-sd/beacon/registrator/service"
)

// harness is a private Docker engine and an agent -dev, with registrators
// started between them.
type harness struct {
	t      testing.TB
	eng    *dockertest.Engine
	agent  *testagent.Agent
	client *api.Client
	host   string // the Docker host's name, first part of default IDs
}

func newHarness(t testing.TB, agentOpts ...testagent.Option) *harness {
	t.Helper()
	eng := dockertest.Start(t)
	a := testagent.Start(t, agentOpts...)
	info, err := eng.Client.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, eng: eng, agent: a, client: a.Client, host: info.Name}
}

// running is one registrator started by a test.
type running struct {
	cancel context.CancelFunc
	done   chan error
	log    *syncbuf.Buffer
	once   sync.Once
}

// stop ends the registrator and waits for it.
func (r *running) stop(t testing.TB) {
	t.Helper()
	r.once.Do(func() {
		r.cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("registrator returned %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("registrator did not stop within 15s")
		}
	})
}

// start runs a registrator against the harness's engine and agent; cfg
// gives the flags. It is stopped when the test ends.
func (h *harness) start(cfg registrator.Config) *running {
	h.t.Helper()
	if cfg.RegistryURI == "" {
		cfg.RegistryURI = "consul://" + h.agent.HTTPAddr
	}
	cfg.DockerHost = h.eng.Host
	buf := &syncbuf.Buffer{}
	level := hclog.Info
	if os.Getenv("BEACON_TEST_LOG") != "" {
		level = hclog.Debug
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "registrator", Level: level, Output: buf})
	r, err := registrator.New(cfg)
	if err != nil {
		h.t.Fatalf("registrator.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	run := &running{cancel: cancel, done: make(chan error, 1), log: buf}
	go func() { run.done <- r.Run(ctx) }()
	h.t.Cleanup(func() {
		run.stop(h.t)
		if h.t.Failed() || os.Getenv("BEACON_TEST_LOG") != "" {
			h.t.Logf("registrator log:\n%s", buf.String())
		}
		if dir := os.Getenv("BEACON_TEST_LOG_DIR"); dir != "" {
			name := strings.NewReplacer("/", "_", " ", "_").Replace(h.t.Name())
			os.WriteFile(fmt.Sprintf("%s/%s-%p.log", dir, name, run), []byte(buf.String()), 0o644)
		}
	})
	return run
}

// catalog is the instances of a service in the catalog.
func (h *harness) catalog(name string) []*api.CatalogService {
	h.t.Helper()
	svcs, _, err := h.client.Catalog().Service(name, "", nil)
	if err != nil {
		h.t.Fatalf("catalog %s: %v", name, err)
	}
	return svcs
}

// waitCatalog waits until the catalog holds n instances of a service.
func (h *harness) waitCatalog(name string, n int, within time.Duration) []*api.CatalogService {
	h.t.Helper()
	var got []*api.CatalogService
	deadline := time.Now().Add(within)
	for {
		got = h.catalog(name)
		if len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("catalog %q has %d instances after %v, want %d: %s", name, len(got), within, n, describe(got))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond until it holds.
func (h *harness) waitFor(what string, within time.Duration, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// owned is the agent's services that carry this Docker host's ownership.
func (h *harness) owned() map[string]*api.AgentService {
	h.t.Helper()
	all, err := h.client.Agent().Services()
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]*api.AgentService{}
	for id, s := range all {
		if s.Meta[service.MetaHost] == h.host {
			out[id] = s
		}
	}
	return out
}

// noDuplicates fails the test when the catalog holds a service ID twice or
// a container's port under two IDs.
func (h *harness) noDuplicates() {
	h.t.Helper()
	names, _, err := h.client.Catalog().Services(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	ids := map[string]int{}
	origins := map[string][]string{}
	for name := range names {
		for _, s := range h.catalog(name) {
			ids[s.ServiceID]++
			origin := fmt.Sprintf("%s %s:%d", s.ServiceMeta[service.MetaContainer], s.ServiceAddress, s.ServicePort)
			origins[origin] = append(origins[origin], s.ServiceID)
		}
	}
	for id, n := range ids {
		if n > 1 {
			h.t.Errorf("service ID %s is in the catalog %d times", id, n)
		}
	}
	for o, list := range origins {
		if len(list) > 1 {
			h.t.Errorf("one container port (%s) registered as %v", o, list)
		}
	}
}

func describe(svcs []*api.CatalogService) string {
	var parts []string
	for _, s := range svcs {
		parts = append(parts, fmt.Sprintf("%s@%s:%d%v", s.ServiceID, s.ServiceAddress, s.ServicePort, s.ServiceTags))
	}
	sort.Strings(parts)
	return "[" + strings.Join(parts, " ") + "]"
}

func itoa(i int) string { return strconv.Itoa(i) }
