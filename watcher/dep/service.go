package dep

import (
	"context"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/watcher/consul"
)

// Health statuses a service filter may name.
const (
	HealthAny         = "any"
	HealthPassing     = "passing"
	HealthWarning     = "warning"
	HealthCritical    = "critical"
	HealthMaintenance = "maintenance"
)

// HealthService is one instance of a service with its node and health, as
// `service` returns it.
type HealthService struct {
	Node                   string
	NodeID                 string
	Kind                   string
	NodeAddress            string
	NodeDatacenter         string
	NodeTaggedAddresses    map[string]string
	NodeMeta               map[string]string
	ServiceMeta            map[string]string
	Address                string
	ServiceTaggedAddresses map[string]api.ServiceAddress
	ID                     string
	Name                   string
	Tags                   ServiceTags
	Checks                 api.HealthChecks
	Status                 string
	Port                   int
	Weights                api.AgentWeights
	Namespace              string
	Partition              string
}

// ServiceQuery is `service "<tag>.<name>@<dc>~<near>|<filter>"`. Its value
// is []*HealthService sorted by node, then service ID.
type ServiceQuery struct {
	Name, Tag, DC, Near string
	// Filter lists the accepted statuses; nil asks the server for
	// passing instances only.
	Filter []string
}

var serviceRe = regexp.MustCompile(`^(?:([\w\-.=:]+)\.)?([\w\-/]+)(?:@([\w.\-]+))?(?:~([\w.\-]+))?$`)

// ParseService reads the arguments of `service`: one string, optionally
// with "|<filter>", or the query and the filter as two arguments.
func ParseService(args ...string) (*ServiceQuery, error) {
	if len(args) == 0 || len(args) > 2 {
		return nil, badQuery("service", strings.Join(args, " "), "want 1 or 2 arguments")
	}
	s := strings.Join(args, "|")
	query, filter, _ := strings.Cut(s, "|")
	m := serviceRe.FindStringSubmatch(strings.TrimSpace(query))
	if m == nil {
		return nil, badQuery("service", s, `want "[<tag>.]<name>[@<datacenter>][~<near>][|<status>,...]"`)
	}
	q := &ServiceQuery{Tag: m[1], Name: m[2], DC: m[3], Near: m[4]}
	f, err := parseFilter(filter)
	if err != nil {
		return nil, badQuery("service", s, err.Error())
	}
	q.Filter = f
	return q, nil
}

func parseFilter(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		switch part {
		case "":
			continue
		case HealthAny, HealthPassing, HealthWarning, HealthCritical, HealthMaintenance:
			out = append(out, part)
		default:
			return nil, errorf("unknown health status %q (want any, passing, warning, critical or maintenance)", part)
		}
	}
	if len(out) > 1 {
		for _, f := range out {
			if f == HealthAny {
				return nil, errorf("%q cannot be combined with other statuses", HealthAny)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func (q *ServiceQuery) String() string {
	var b strings.Builder
	b.WriteString("health.service(")
	if q.Tag != "" {
		b.WriteString(q.Tag + ".")
	}
	b.WriteString(q.Name + atDC(q.DC) + nearSuffix(q.Near))
	if q.Filter != nil {
		b.WriteString("|" + strings.Join(q.Filter, ","))
	}
	b.WriteString(")")
	return b.String()
}

// Fetch reads /v1/health/service/<name>.
func (q *ServiceQuery) Fetch(ctx context.Context, c *consul.Client, o consul.QueryOptions) (any, consul.Meta, error) {
	return q.call(o).fetch(ctx, c)
}

// FetchAsync is Fetch with a callback.
func (q *ServiceQuery) FetchAsync(ctx context.Context, c *consul.Client, o consul.QueryOptions, done func(any, consul.Meta, error)) {
	q.call(o).start(ctx, c, done)
}

func (q *ServiceQuery) call(o consul.QueryOptions) call {
	o.Datacenter, o.Near = q.DC, q.Near
	params := url.Values{}
	if q.Tag != "" {
		params.Set("tag", q.Tag)
	}
	if q.Filter == nil {
		params.Set("passing", "")
	}
	var entries []*api.ServiceEntry
	return call{path: "/v1/health/service/" + url.PathEscape(q.Name), params: params, q: o, out: &entries,
		value: func(bool) (any, error) { return q.services(entries), nil }}
}

func (q *ServiceQuery) services(entries []*api.ServiceEntry) []*HealthService {
	out := make([]*HealthService, 0, len(entries))
	for _, e := range entries {
		if e == nil || e.Service == nil {
			continue
		}
		hs := healthService(e)
		if !q.accepts(hs.Status) {
			continue
		}
		out = append(out, hs)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func (q *ServiceQuery) accepts(status string) bool {
	if q.Filter == nil {
		return true
	}
	for _, f := range q.Filter {
		if f == HealthAny || f == status {
			return true
		}
	}
	return false
}

func healthService(e *api.ServiceEntry) *HealthService {
	s := e.Service
	hs := &HealthService{
		ID:                     s.ID,
		Name:                   s.Service,
		Kind:                   string(s.Kind),
		Tags:                   sortedTags(s.Tags),
		ServiceMeta:            s.Meta,
		ServiceTaggedAddresses: s.TaggedAddresses,
		Address:                s.Address,
		Port:                   s.Port,
		Weights:                s.Weights,
		Checks:                 e.Checks,
		Status:                 e.Checks.AggregatedStatus(),
		Namespace:              s.Namespace,
		Partition:              s.Partition,
	}
	if n := e.Node; n != nil {
		hs.Node, hs.NodeID, hs.NodeAddress = n.Node, n.ID, n.Address
		hs.NodeDatacenter, hs.NodeTaggedAddresses, hs.NodeMeta = n.Datacenter, n.TaggedAddresses, n.Meta
	}
	if hs.Address == "" {
		hs.Address = hs.NodeAddress
	}
	if hs.Status == "" {
		hs.Status = HealthCritical
	}
	return hs
}
