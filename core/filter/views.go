package filter

import (
	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/structs"
)

// The views below spell out, field by field, the selectors of each
// endpoint's "Filtering" table in Consul's API documentation. Mesh fields
// (Proxy, Connect) are always zero here, as beacon registers no proxies,
// but selecting them is valid, as it is in Consul. Every field is a value,
// not a pointer, so a selector never meets nil.

// nodeView is a node: /v1/catalog/nodes and the Node of a health entry.
type nodeView struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
}

func viewNode(v *nodeView, n *structs.Node) {
	if n == nil {
		*v = nodeView{}
		return
	}
	*v = nodeView{ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter,
		TaggedAddresses: n.TaggedAddresses, Meta: n.Meta}
}

type meshGatewayView struct{ Mode string }

type upstreamView struct {
	DestinationType      string
	DestinationNamespace string
	DestinationName      string
	Datacenter           string
	LocalBindAddress     string
	LocalBindPort        int
	MeshGateway          meshGatewayView
}

type proxyView struct {
	DestinationServiceName string
	DestinationServiceID   string
	LocalServiceAddress    string
	LocalServicePort       int
	Mode                   string
	TransparentProxy       struct{ OutboundListenerPort int }
	MeshGateway            meshGatewayView
	Upstreams              []upstreamView
}

type connectView struct{ Native bool }

// serviceView is a service instance as its node sees it: the values of
// /v1/agent/services, the services of /v1/catalog/node(-services)/<n> and
// the Service of a health entry.
type serviceView struct {
	Kind              string
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]structs.ServiceAddress
	Meta              map[string]string
	Port              int
	Weights           structs.Weights
	EnableTagOverride bool
	Proxy             proxyView
	Connect           connectView
	// Datacenter is shown by /v1/agent/services, whose entries Consul
	// filters as they are shown.
	Datacenter string
}

func viewService(v *serviceView, s *structs.NodeService) {
	if s == nil {
		*v = serviceView{}
		return
	}
	*v = serviceView{Kind: s.Kind, ID: s.ID, Service: s.Service, Tags: s.Tags,
		Address: s.Address, TaggedAddresses: s.TaggedAddresses, Meta: s.Meta, Port: s.Port,
		Weights: s.Weights, EnableTagOverride: s.EnableTagOverride, Datacenter: s.Datacenter}
}

// serviceNodeView is the flat node+service entry of /v1/catalog/service/<s>,
// which /v1/catalog/services filters too, before it groups the entries by
// name.
type serviceNodeView struct {
	ID                       string
	Node                     string
	Address                  string
	Datacenter               string
	TaggedAddresses          map[string]string
	NodeMeta                 map[string]string
	ServiceKind              string
	ServiceID                string
	ServiceName              string
	ServiceTags              []string
	ServiceAddress           string
	ServiceTaggedAddresses   map[string]structs.ServiceAddress
	ServiceWeights           structs.Weights
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceEnableTagOverride bool
	ServiceProxy             proxyView
	ServiceConnect           connectView
}

func viewServiceNode(v *serviceNodeView, s structs.ServiceNode) {
	*v = serviceNodeView{ID: s.ID, Node: s.Node, Address: s.Address, Datacenter: s.Datacenter,
		TaggedAddresses: s.TaggedAddresses, NodeMeta: s.NodeMeta, ServiceKind: s.ServiceKind,
		ServiceID: s.ServiceID, ServiceName: s.ServiceName, ServiceTags: s.ServiceTags,
		ServiceAddress: s.ServiceAddress, ServiceTaggedAddresses: s.ServiceTaggedAddresses,
		ServiceWeights: s.ServiceWeights, ServiceMeta: s.ServiceMeta, ServicePort: s.ServicePort,
		ServiceEnableTagOverride: s.ServiceEnableTagOverride}
}

// checkView is a health check: /v1/health/node, /checks and /state lists,
// /v1/agent/checks values and the Checks of a health entry.
type checkView struct {
	Node        string
	CheckID     string
	Name        string
	Status      string
	Notes       string
	Output      string
	ServiceID   string
	ServiceName string
	ServiceTags []string
	Type        string
}

func viewCheck(v *checkView, c *structs.HealthCheck) {
	if c == nil {
		*v = checkView{}
		return
	}
	*v = checkView{Node: c.Node, CheckID: c.CheckID, Name: c.Name, Status: c.Status,
		Notes: c.Notes, Output: c.Output, ServiceID: c.ServiceID, ServiceName: c.ServiceName,
		ServiceTags: c.ServiceTags, Type: c.Type}
}

// healthView is an entry of /v1/health/service/<s>.
type healthView struct {
	Node    nodeView
	Service serviceView
	Checks  []checkView
}

func viewHealth(v *healthView, e structs.CheckServiceNode) {
	viewNode(&v.Node, e.Node)
	viewService(&v.Service, e.Service)
	v.Checks = v.Checks[:0] // the view is filled again for each entry
	for _, c := range e.Checks {
		v.Checks = append(v.Checks, checkView{})
		viewCheck(&v.Checks[len(v.Checks)-1], c)
	}
}

// memberView is an entry of /v1/agent/members.
type memberView struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      int
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

func viewMember(v *memberView, m api.AgentMember) { *v = memberView(m) }

// Nodes filters catalog nodes.
func Nodes(expr string) (*Filter[*structs.Node], error) { return compile(expr, viewNode) }

// ServiceNodes filters the entries of /v1/catalog/service/<s> and the
// instances /v1/catalog/services groups.
func ServiceNodes(expr string) (*Filter[structs.ServiceNode], error) {
	return compile(expr, viewServiceNode)
}

// Services filters a node's services.
func Services(expr string) (*Filter[*structs.NodeService], error) {
	return compile(expr, viewService)
}

// AgentServices filters an agent's services, which show the agent's
// datacenter dc.
func AgentServices(expr, dc string) (*Filter[*structs.NodeService], error) {
	return compile(expr, func(v *serviceView, s *structs.NodeService) {
		viewService(v, s)
		v.Datacenter = dc
	})
}

// Checks filters health checks.
func Checks(expr string) (*Filter[*structs.HealthCheck], error) { return compile(expr, viewCheck) }

// Health filters the entries of /v1/health/service/<s>.
func Health(expr string) (*Filter[structs.CheckServiceNode], error) {
	return compile(expr, viewHealth)
}

// Members filters gossip members.
func Members(expr string) (*Filter[api.AgentMember], error) { return compile(expr, viewMember) }
