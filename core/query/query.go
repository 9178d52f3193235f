// Package query is the part of prepared queries that needs neither the
// store nor the server: a definition checked as Consul checks it (and
// refused by name where it asks for service mesh, peering or namespaces),
// templates that answer every name their Name prefixes, rendered with
// ${name.full}-style interpolation, and the filters that turn a service's
// health entries into a query's answer.
package query

import (
	"fmt"
	"regexp"
	"time"

	"github.com/beacon-sd/beacon/core/structs"
)

// Limits on a query's metadata filters, as Consul has them for metadata.
const (
	maxMetaPairs    = 64
	maxMetaKeyLen   = 128
	maxMetaValueLen = 512
)

var metaKey = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// Check validates a definition for a create or update. Every error is the
// caller's: structs.InputError, which the API answers with 400.
func Check(q *structs.PreparedQuery) error {
	if err := check(q); err != nil {
		return structs.BadInput("Invalid prepared query: %v", err)
	}
	return nil
}

func check(q *structs.PreparedQuery) error {
	if q.Name == "" && !q.IsTemplate() && q.Session == "" {
		return fmt.Errorf("a query without a Name must be bound to a Session, or be a Template")
	}
	if q.Token == structs.RedactedToken {
		return fmt.Errorf("Token %q is how a token is shown to readers, not a token: the definition was read back and sent again", q.Token)
	}
	if err := checkService(&q.Service); err != nil {
		return err
	}
	if q.DNS.TTL != "" {
		ttl, err := time.ParseDuration(q.DNS.TTL)
		if err != nil {
			return fmt.Errorf("bad DNS.TTL %q: %v", q.DNS.TTL, err)
		}
		if ttl < 0 {
			return fmt.Errorf("bad DNS.TTL %q: it must not be negative", q.DNS.TTL)
		}
	}
	if q.IsTemplate() {
		if _, err := Compile(q); err != nil {
			return err
		}
	}
	return nil
}

func checkService(s *structs.ServiceQuery) error {
	if s.Service == "" {
		return fmt.Errorf("Must provide a Service name to query (Service.Service)")
	}
	if s.Connect {
		return fmt.Errorf("Service.Connect: service mesh is not supported by beacon")
	}
	for _, f := range []struct{ name, val string }{
		{"Service.SamenessGroup", s.SamenessGroup},
		{"Service.Peer", s.Peer},
	} {
		if f.val != "" {
			return fmt.Errorf("%s: cluster peering is not supported by beacon", f.name)
		}
	}
	if err := defaultOnly("Service", s.Namespace, s.Partition); err != nil {
		return err
	}
	fo := &s.Failover
	if fo.NearestN < 0 {
		return fmt.Errorf("bad Service.Failover.NearestN %d: it must be 0 or more", fo.NearestN)
	}
	if len(fo.Targets) > 0 && (fo.NearestN != 0 || len(fo.Datacenters) > 0) {
		return fmt.Errorf("Service.Failover.Targets cannot be given with NearestN or Datacenters")
	}
	for i, t := range fo.Targets {
		where := fmt.Sprintf("Service.Failover.Targets[%d]", i)
		if t.Peer != "" {
			return fmt.Errorf("%s.Peer: cluster peering is not supported by beacon", where)
		}
		if t.Datacenter == "" {
			return fmt.Errorf("%s: a target needs a Datacenter", where)
		}
		if err := defaultOnly(where, t.Namespace, t.Partition); err != nil {
			return err
		}
	}
	for _, m := range []struct {
		name string
		meta map[string]string
	}{{"Service.NodeMeta", s.NodeMeta}, {"Service.ServiceMeta", s.ServiceMeta}} {
		if err := checkMeta(m.name, m.meta); err != nil {
			return err
		}
	}
	return nil
}

// defaultOnly refuses a namespace or partition other than the one beacon
// has.
func defaultOnly(where, namespace, partition string) error {
	if namespace != "" && namespace != "default" {
		return fmt.Errorf("%s.Namespace %q: namespaces are not supported by beacon", where, namespace)
	}
	if partition != "" && partition != "default" {
		return fmt.Errorf("%s.Partition %q: admin partitions are not supported by beacon", where, partition)
	}
	return nil
}

func checkMeta(name string, meta map[string]string) error {
	if len(meta) > maxMetaPairs {
		return fmt.Errorf("%s has %d pairs, more than the %d allowed", name, len(meta), maxMetaPairs)
	}
	for k, v := range meta {
		if !metaKey.MatchString(k) || len(k) > maxMetaKeyLen {
			return fmt.Errorf("%s key %q: keys are 1 to %d letters, digits, '_' or '-'", name, k, maxMetaKeyLen)
		}
		if len(v) > maxMetaValueLen {
			return fmt.Errorf("%s[%s]: the value is longer than %d bytes", name, k, maxMetaValueLen)
		}
	}
	return nil
}
