package registry

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/registrator/service"
)

// Check ID suffixes of the checks the registrator adds to a service.
const (
	healthCheckSuffix = ":docker-health"
	ttlCheckSuffix    = ":registrator-ttl"
)

// consul registers services with an agent through its service API, so the
// agent's anti-entropy keeps the catalog equal to them and runs their
// checks.
type consul struct {
	client *api.Client
	addr   string
	opt    Options
	node   agentNode // for services on all of the host's addresses
}

func newConsul(u *url.URL, opt Options) (*consul, error) {
	cfg, err := clientConfig(u, os.Getenv, opt.Timeout)
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", u.String(), err)
	}
	return &consul{client: c, addr: cfg.Scheme + "://" + strings.TrimPrefix(cfg.Address, "unix://"), opt: opt}, nil
}

func (r *consul) String() string { return "consul agent at " + r.addr }

// Ping asks the agent about itself and learns its node address, which
// checks of services published on all of the host's addresses target.
func (r *consul) Ping(ctx context.Context) error { return r.node.ping(ctx, r.client, r) }

// checkAddr is where checks reach a service.
func (r *consul) checkAddr(s *service.Service) string {
	addr := r.node.address()
	if addr == "" {
		return s.Address("127.0.0.1")
	}
	return s.Address(addr)
}

func (r *consul) Register(ctx context.Context, s *service.Service) error {
	reg := &api.AgentServiceRegistration{
		ID: s.ID, Name: s.Name, Tags: s.Tags, Port: s.Port, Address: s.IP, Meta: s.Meta,
		Checks: r.checks(s),
	}
	err := r.client.Agent().ServiceRegisterOpts(reg, api.ServiceRegisterOpts{}.WithContext(ctx))
	return classify("register", s, err)
}

// checks are the agent checks of a service: the one its SERVICE_CHECK_*
// settings ask for, one that mirrors its Docker health state, and the
// -ttl heartbeat.
func (r *consul) checks(s *service.Service) api.AgentServiceChecks {
	var out api.AgentServiceChecks
	if c := s.Check; c != nil {
		addr := r.checkAddr(s)
		ac := &api.AgentServiceCheck{
			CheckID: "service:" + s.ID, Name: fmt.Sprintf("Service '%s' check", s.Name),
			Interval: c.Interval, Timeout: c.Timeout, Status: c.InitialStatus,
			DeregisterCriticalServiceAfter: c.DeregisterAfter,
		}
		switch c.Kind {
		case service.CheckHTTP, service.CheckHTTPS:
			ac.HTTP = c.HTTPTarget(addr, s.Port)
			ac.TLSSkipVerify = c.TLSSkipVerify
			ac.Method = c.Method
		case service.CheckTCP:
			ac.TCP = c.TCPTarget(addr, s.Port)
		case service.CheckScript:
			ac.Args = []string{"/bin/sh", "-c", c.Command(addr, s.Port)}
		case service.CheckDocker:
			ac.DockerContainerID = s.ContainerID
			ac.Shell = c.Shell
			ac.Args = []string{c.Shell, "-c", c.Command(addr, s.Port)}
		case service.CheckTTL:
			ac.TTL, ac.Interval, ac.Timeout = c.TTL, "", ""
		}
		out = append(out, ac)
	}
	if s.DockerHealth != "" {
		status, _ := healthStatus(s.DockerHealth)
		out = append(out, &api.AgentServiceCheck{
			CheckID: "service:" + s.ID + healthCheckSuffix, Name: "Docker health check",
			Notes: "The container's HEALTHCHECK state, reported by the registrator",
			TTL:   r.opt.HealthTTL.String(), Status: status,
		})
	}
	if r.opt.TTL > 0 {
		out = append(out, &api.AgentServiceCheck{
			CheckID: "service:" + s.ID + ttlCheckSuffix, Name: "Registrator heartbeat",
			Notes: "Fails when the registrator that registered this service stops reporting",
			TTL:   r.opt.TTL.String(), Status: api.HealthPassing,
		})
	}
	return out
}

// healthStatus maps a Docker health state to a check status and output.
func healthStatus(h string) (string, string) {
	switch h {
	case service.HealthHealthy:
		return api.HealthPassing, "Docker reports the container healthy"
	case service.HealthUnhealthy:
		return api.HealthCritical, "Docker reports the container unhealthy"
	default:
		return api.HealthCritical, "Docker health check is starting"
	}
}

func (r *consul) Deregister(ctx context.Context, s *service.Service) error {
	err := r.client.Agent().ServiceDeregisterOpts(s.ID, (&api.QueryOptions{}).WithContext(ctx))
	if isNotFound(err) {
		return nil
	}
	return classify("deregister", s, err)
}

func (r *consul) NeedsRefresh(s *service.Service) bool {
	return s.DockerHealth != "" || r.opt.TTL > 0
}

func (r *consul) Refresh(ctx context.Context, s *service.Service) error {
	q := (&api.QueryOptions{}).WithContext(ctx)
	update := func(what, checkID, output, status string) error {
		err := r.client.Agent().UpdateTTLOpts(checkID, output, status, q)
		if isNotFound(err) {
			return fmt.Errorf("%s %s: %w", what, s.ID, ErrNotRegistered)
		}
		return classify(what, s, err)
	}
	if s.DockerHealth != "" {
		status, output := healthStatus(s.DockerHealth)
		if err := update("report health of", "service:"+s.ID+healthCheckSuffix, output, status); err != nil {
			return err
		}
	}
	if r.opt.TTL > 0 {
		if err := update("refresh TTL of", "service:"+s.ID+ttlCheckSuffix, "", api.HealthPassing); err != nil {
			return err
		}
	}
	return nil
}

func (r *consul) Services(ctx context.Context, host string) ([]Entry, error) {
	all, err := r.client.Agent().ServicesWithFilterOpts("", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("list services on %s: %w", r, err)
	}
	var out []Entry
	for _, as := range all {
		if as.Meta[service.MetaHost] != host {
			continue
		}
		s := &service.Service{
			ID: as.ID, Name: as.Service, IP: as.Address, Port: as.Port, Tags: as.Tags, Meta: as.Meta,
			ContainerID: as.Meta[service.MetaContainer],
		}
		out = append(out, Entry{Service: s, Digest: r.Digest(s)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service.ID < out[j].Service.ID })
	return out, nil
}

// Digest covers what /v1/agent/services shows of a registration.
func (r *consul) Digest(s *service.Service) string {
	keys := make([]string, 0, len(s.Meta))
	for k := range s.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%q %q %q %d [", s.ID, s.Name, s.IP, s.Port)
	for _, t := range s.Tags {
		fmt.Fprintf(&b, "%q ", t)
	}
	b.WriteString("]")
	for _, k := range keys {
		fmt.Fprintf(&b, " %q=%q", k, s.Meta[k])
	}
	return b.String()
}
