package registry

import (
	"context"
	"fmt"
	"hash/fnv"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/registrator/service"
)

// consulKV writes each service as one key, <prefix>/<name>/<id> = ip:port,
// as Registrator's consulkv backend does. The value is all a consumer
// reads; the key's flags carry a hash of the owning Docker host, so that a
// registrator lists and cleans up only its own keys.
type consulKV struct {
	client *api.Client
	addr   string
	prefix string
	opt    Options
	node   agentNode
}

func newConsulKV(u *url.URL, opt Options) (*consulKV, error) {
	prefix := strings.Trim(u.Path, "/")
	if prefix == "" {
		return nil, fmt.Errorf("registry URI %q: consulkv needs a key prefix, as in consulkv://127.0.0.1:8500/services", u.String())
	}
	cfg, err := clientConfig(&url.URL{Scheme: "consul", Host: u.Host}, os.Getenv, opt.Timeout)
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", u.String(), err)
	}
	return &consulKV{client: c, addr: cfg.Address, prefix: prefix, opt: opt}, nil
}

func (r *consulKV) String() string { return "consul KV at " + r.addr + "/" + r.prefix }

// Ping asks the agent about itself and learns its node address, the
// address written for services published on all of the host's addresses.
func (r *consulKV) Ping(ctx context.Context) error { return r.node.ping(ctx, r.client, r) }

func (r *consulKV) key(s *service.Service) string {
	return r.prefix + "/" + s.Name + "/" + s.ID
}

func (r *consulKV) value(s *service.Service) string {
	return net.JoinHostPort(s.Address(r.node.address()), strconv.Itoa(s.Port))
}

// ownerFlags is the flags value that marks a key as a host's.
func ownerFlags(host string) uint64 {
	h := fnv.New64a()
	h.Write([]byte("registrator-host:" + host))
	return h.Sum64()
}

func (r *consulKV) Register(ctx context.Context, s *service.Service) error {
	p := &api.KVPair{Key: r.key(s), Value: []byte(r.value(s)), Flags: ownerFlags(s.Host())}
	_, err := r.client.KV().Put(p, (&api.WriteOptions{}).WithContext(ctx))
	return classify("register", s, err)
}

func (r *consulKV) Deregister(ctx context.Context, s *service.Service) error {
	_, err := r.client.KV().Delete(r.key(s), (&api.WriteOptions{}).WithContext(ctx))
	return classify("deregister", s, err)
}

// Refresh has nothing to do: keys do not expire.
func (r *consulKV) Refresh(ctx context.Context, s *service.Service) error { return nil }

func (r *consulKV) NeedsRefresh(s *service.Service) bool { return false }

func (r *consulKV) Services(ctx context.Context, host string) ([]Entry, error) {
	pairs, _, err := r.client.KV().List(r.prefix+"/", (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r, err)
	}
	flags := ownerFlags(host)
	var out []Entry
	for _, p := range pairs {
		if p.Flags != flags {
			continue
		}
		name, id, ok := strings.Cut(strings.TrimPrefix(p.Key, r.prefix+"/"), "/")
		if !ok {
			continue
		}
		s := &service.Service{ID: id, Name: name, Meta: map[string]string{service.MetaHost: host}}
		if h, port, err := net.SplitHostPort(string(p.Value)); err == nil {
			s.IP = h
			s.Port, _ = strconv.Atoi(port)
		}
		out = append(out, Entry{Service: s, Digest: p.Key + "=" + string(p.Value)})
	}
	return out, nil
}

// Digest is the key and value written for a service.
func (r *consulKV) Digest(s *service.Service) string {
	return r.key(s) + "=" + r.value(s)
}
