package dep

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/watcher/consul"
)

// CatalogSnippet is a service name with the tags of all its instances, as
// `services` returns it.
type CatalogSnippet struct {
	Name string
	Tags ServiceTags
}

// Node is a catalog node.
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
}

// CatalogNodeService is a service registered on a node.
type CatalogNodeService struct {
	ID                string
	Service           string
	Tags              ServiceTags
	Meta              map[string]string
	Port              int
	Address           string
	EnableTagOverride bool
}

// CatalogNode is a node with its services, as `node` returns it.
type CatalogNode struct {
	Node     *Node
	Services []*CatalogNodeService
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func sortStrings(s []string) { sort.Strings(s) }

// ServicesQuery is `services "@<dc>"`. Its value is []*CatalogSnippet
// sorted by name.
type ServicesQuery struct{ DC string }

var dcOnlyRe = regexp.MustCompile(`^(?:@([\w.\-]+))?$`)

// ParseServices reads the optional argument of `services`.
func ParseServices(args ...string) (*ServicesQuery, error) {
	s := joinArgs(args)
	m := dcOnlyRe.FindStringSubmatch(s)
	if m == nil {
		return nil, badQuery("services", s, `want "" or "@<datacenter>"`)
	}
	return &ServicesQuery{DC: m[1]}, nil
}

func (q *ServicesQuery) String() string { return "catalog.services(" + atDC(q.DC) + ")" }

// Fetch reads /v1/catalog/services.
func (q *ServicesQuery) Fetch(ctx context.Context, c *consul.Client, o consul.QueryOptions) (any, consul.Meta, error) {
	return q.call(o).fetch(ctx, c)
}

// FetchAsync is Fetch with a callback.
func (q *ServicesQuery) FetchAsync(ctx context.Context, c *consul.Client, o consul.QueryOptions, done func(any, consul.Meta, error)) {
	q.call(o).start(ctx, c, done)
}

func (q *ServicesQuery) call(o consul.QueryOptions) call {
	o.Datacenter = q.DC
	var entries map[string][]string
	return call{path: "/v1/catalog/services", q: o, out: &entries, value: func(bool) (any, error) {
		out := make([]*CatalogSnippet, 0, len(entries))
		for name, tags := range entries {
			out = append(out, &CatalogSnippet{Name: name, Tags: sortedTags(tags)})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}}
}

// NodesQuery is `nodes "@<dc>~<near>"`. Its value is []*Node in the
// server's order (by name, or by distance with near).
type NodesQuery struct{ DC, Near string }

var nodesRe = regexp.MustCompile(`^(?:@([\w.\-]+))?(?:~([\w.\-]+))?$`)

// ParseNodes reads the optional argument of `nodes`.
func ParseNodes(args ...string) (*NodesQuery, error) {
	s := joinArgs(args)
	m := nodesRe.FindStringSubmatch(s)
	if m == nil {
		return nil, badQuery("nodes", s, `want "", "@<datacenter>", "~<near>" or "@<datacenter>~<near>"`)
	}
	return &NodesQuery{DC: m[1], Near: m[2]}, nil
}

func (q *NodesQuery) String() string {
	return "catalog.nodes(" + atDC(q.DC) + nearSuffix(q.Near) + ")"
}

// Fetch reads /v1/catalog/nodes.
func (q *NodesQuery) Fetch(ctx context.Context, c *consul.Client, o consul.QueryOptions) (any, consul.Meta, error) {
	return q.call(o).fetch(ctx, c)
}

// FetchAsync is Fetch with a callback.
func (q *NodesQuery) FetchAsync(ctx context.Context, c *consul.Client, o consul.QueryOptions, done func(any, consul.Meta, error)) {
	q.call(o).start(ctx, c, done)
}

func (q *NodesQuery) call(o consul.QueryOptions) call {
	o.Datacenter, o.Near = q.DC, q.Near
	var entries []*api.Node
	return call{path: "/v1/catalog/nodes", q: o, out: &entries, value: func(bool) (any, error) {
		out := make([]*Node, 0, len(entries))
		for _, n := range entries {
			if n != nil {
				out = append(out, node(n))
			}
		}
		return out, nil
	}}
}

func node(n *api.Node) *Node {
	return &Node{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
		TaggedAddresses: n.TaggedAddresses, Meta: n.Meta}
}

// NodeQuery is `node "<name>@<dc>"`; without a name it is the node of the
// agent the client talks to. Its value is *CatalogNode, nil when the node
// is not in the catalog.
type NodeQuery struct {
	Name, DC string
	// agentNode caches the agent's node name when Name is empty.
	agentNode string
}

var nodeRe = regexp.MustCompile(`^([\w.\-]*)(?:@([\w.\-]+))?$`)

// ParseNode reads the optional argument of `node`.
func ParseNode(args ...string) (*NodeQuery, error) {
	s := joinArgs(args)
	m := nodeRe.FindStringSubmatch(s)
	if m == nil {
		return nil, badQuery("node", s, `want "", "<name>", or "<name>@<datacenter>"`)
	}
	return &NodeQuery{Name: m[1], DC: m[2]}, nil
}

func (q *NodeQuery) String() string { return "catalog.node(" + q.Name + atDC(q.DC) + ")" }

// Fetch reads /v1/catalog/node/<name>, asking /v1/agent/self for the name
// first when the query has none.
func (q *NodeQuery) Fetch(ctx context.Context, c *consul.Client, o consul.QueryOptions) (any, consul.Meta, error) {
	o.Datacenter = q.DC
	name := q.Name
	if name == "" {
		if q.agentNode == "" {
			var self struct{ Config struct{ NodeName string } }
			if _, _, err := c.Get(ctx, "/v1/agent/self", nil, consul.QueryOptions{}, &self); err != nil {
				return nil, consul.Meta{}, fmt.Errorf("finding the agent's node name: %w", err)
			}
			if self.Config.NodeName == "" {
				return nil, consul.Meta{}, errors.New("finding the agent's node name: /v1/agent/self has no Config.NodeName")
			}
			q.agentNode = self.Config.NodeName
		}
		name = q.agentNode
	}
	var entry *api.CatalogNode
	meta, _, err := c.Get(ctx, "/v1/catalog/node/"+url.PathEscape(name), nil, o, &entry)
	if err != nil {
		return nil, meta, err
	}
	if entry == nil || entry.Node == nil {
		return (*CatalogNode)(nil), meta, nil
	}
	out := &CatalogNode{Node: node(entry.Node)}
	for _, s := range entry.Services {
		out.Services = append(out.Services, &CatalogNodeService{
			ID: s.ID, Service: s.Service, Tags: sortedTags(s.Tags), Meta: s.Meta,
			Port: s.Port, Address: s.Address, EnableTagOverride: s.EnableTagOverride,
		})
	}
	sort.SliceStable(out.Services, func(i, j int) bool {
		if out.Services[i].Service != out.Services[j].Service {
			return out.Services[i].Service < out.Services[j].Service
		}
		return out.Services[i].ID < out.Services[j].ID
	})
	return out, meta, nil
}

// DatacentersQuery is `datacenters`. Its value is []string, sorted. The
// endpoint cannot block, so it is polled.
type DatacentersQuery struct{}

func (DatacentersQuery) String() string { return "catalog.datacenters" }

// PollInterval is how often the datacenter list is re-read.
func (DatacentersQuery) PollInterval() time.Duration { return 15 * time.Second }

// Fetch reads /v1/catalog/datacenters.
func (DatacentersQuery) Fetch(ctx context.Context, c *consul.Client, _ consul.QueryOptions) (any, consul.Meta, error) {
	var dcs []string
	meta, _, err := c.Get(ctx, "/v1/catalog/datacenters", nil, consul.QueryOptions{}, &dcs)
	if err != nil {
		return nil, meta, err
	}
	if dcs == nil {
		dcs = []string{}
	}
	sort.Strings(dcs)
	return dcs, meta, nil
}

func joinArgs(args []string) string {
	s := ""
	for _, a := range args {
		s += a
	}
	return s
}
