// Package promsd runs Prometheus's own service discovery and relabeling on
// a prometheus.yml: the discovery manager, the consul_sd_configs discoverer
// and the target-building code of a Prometheus server, without its storage
// or scraping. It shows what a Prometheus server would scrape, and lets the
// consul_sd_configs path be tested against beacon where no Prometheus build
// with Consul discovery is at hand (Debian's package is built without it).
package promsd

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/go-kit/log"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	_ "github.com/prometheus/prometheus/discovery/consul" // registers consul_sd_configs
	_ "github.com/prometheus/prometheus/discovery/file"   // registers file_sd_configs
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/scrape"
)

// Target is one scrape target of a job, as a Prometheus server builds it.
type Target struct {
	Job string `json:"job"`
	// Labels are the target's labels after relabeling, without the
	// double-underscore ones: what every scraped series gets (job,
	// instance, env, ...).
	Labels map[string]string `json:"labels"`
	// Address is __address__ after relabeling: where Prometheus scrapes.
	Address string `json:"address"`
	// Discovered are the labels discovery produced, before relabeling
	// (__meta_consul_*).
	Discovered map[string]string `json:"discovered"`
}

// LoadFile reads a prometheus.yml the way a Prometheus server does.
func LoadFile(path string) (*config.Config, error) {
	return config.LoadFile(path, false, false, log.NewNopLogger())
}

// Discover runs service discovery for every scrape job of cfg and returns
// the kept targets by job name each time the discovered set changes, until
// done returns true for it or ctx ends. It returns the last set seen; the
// error is ctx's when done never held.
func Discover(ctx context.Context, cfg *config.Config, done func(map[string][]Target) bool) (map[string][]Target, error) {
	scfgs, err := cfg.GetScrapeConfigs()
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	sdMetrics, err := discovery.CreateAndRegisterSDMetrics(reg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	mgr := discovery.NewManager(ctx, log.NewNopLogger(), reg, sdMetrics, discovery.Updatert(100*time.Millisecond))
	if mgr == nil {
		return nil, fmt.Errorf("prometheus discovery manager could not start")
	}
	byJob := map[string]*config.ScrapeConfig{}
	sdCfgs := map[string]discovery.Configs{}
	for _, sc := range scfgs {
		byJob[sc.JobName] = sc
		sdCfgs[sc.JobName] = sc.ServiceDiscoveryConfigs
	}
	if err := mgr.ApplyConfig(sdCfgs); err != nil {
		return nil, err
	}
	stopped := make(chan struct{})
	go func() {
		mgr.Run()
		close(stopped)
	}()
	defer func() {
		cancel()
		<-stopped
	}()

	groups := map[string][]*targetgroup.Group{}
	var last map[string][]Target
	for {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case update := <-mgr.SyncCh():
			for job, tgs := range update {
				groups[job] = tgs
			}
			last, err = build(byJob, groups)
			if err != nil {
				return last, err
			}
			if done(last) {
				return last, nil
			}
		}
	}
}

// build turns discovered groups into targets with the scrape code's own
// label population and relabeling. Dropped targets are left out.
func build(byJob map[string]*config.ScrapeConfig, groups map[string][]*targetgroup.Group) (map[string][]Target, error) {
	out := map[string][]Target{}
	lb := labels.NewBuilder(labels.EmptyLabels())
	var sb labels.ScratchBuilder
	for job, tgs := range groups {
		sc, ok := byJob[job]
		if !ok {
			continue
		}
		for _, tg := range tgs {
			ts, errs := scrape.TargetsFromGroup(tg, sc, false, nil, lb)
			if len(errs) > 0 {
				return out, fmt.Errorf("job %s: %w", job, errs[0])
			}
			for _, t := range ts {
				if t.Labels(&sb).IsEmpty() {
					continue // dropped by relabeling
				}
				out[job] = append(out[job], Target{
					Job:        job,
					Labels:     t.Labels(&sb).Map(),
					Address:    t.GetValue("__address__"),
					Discovered: t.DiscoveredLabels().Map(),
				})
			}
		}
		sort.Slice(out[job], func(i, j int) bool {
			return out[job][i].Labels["instance"] < out[job][j].Labels["instance"]
		})
	}
	return out, nil
}
