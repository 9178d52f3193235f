package structs

// ServiceUsage counts what a datacenter's catalog holds.
type ServiceUsage struct {
	Nodes            int
	Services         int // distinct service names
	ServiceInstances int
	// ConnectServiceInstances counts the instances of each service-mesh
	// kind, every kind Consul lists present even when zero.
	ConnectServiceInstances map[string]int
	// BillableServiceInstances are the instances of typical services
	// (no mesh kind; natively mesh-aware ones count), but the servers'
	// own "consul" service.
	BillableServiceInstances int
}

// ConnectKinds are the kinds ConnectServiceInstances counts.
var ConnectKinds = []string{"api-gateway", "connect-native", "connect-proxy", "ingress-gateway", "mesh-gateway", "terminating-gateway"}

// UsageReply is a datacenter's usage.
type UsageReply struct {
	Usage map[string]ServiceUsage
	QueryMeta
}

// Meta returns the reply's query metadata.
func (r *UsageReply) Meta() *QueryMeta { return &r.QueryMeta }
