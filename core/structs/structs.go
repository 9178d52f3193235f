// Package structs holds the catalog, KV and session types that the state store
// keeps and the HTTP API returns. Field names and JSON shapes follow Consul's
// wire format, so a row read from the store can be encoded as it is.
package structs

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Health check states.
const (
	HealthAny      = "any"
	HealthPassing  = "passing"
	HealthWarning  = "warning"
	HealthCritical = "critical"
	HealthMaint    = "maintenance"
)

// Reserved check IDs.
const (
	SerfCheckID           = "serfHealth"
	SerfCheckName         = "Serf Health Status"
	SerfCheckAliveOutput  = "Agent alive and reachable"
	NodeMaintCheckID      = "_node_maintenance"
	ServiceMaintPrefix    = "_service_maintenance:"
	ConsulServiceID       = "consul"
	ConsulServiceName     = "consul"
	DefaultLockDelay      = 15 * time.Second
	MaxLockDelay          = 60 * time.Second
	SessionTTLMin         = 10 * time.Second
	SessionTTLMax         = 24 * time.Hour
	SessionTTLMultiplier  = 2
	MaxKVValueSize        = 512 * 1024
	MaxKeyLength          = 4096
	NetworkSegmentMetaKey = "consul-network-segment"
)

// ValidStatus reports whether s is a state a check can be in.
func ValidStatus(s string) bool {
	switch s {
	case HealthPassing, HealthWarning, HealthCritical:
		return true
	}
	return false
}

// RaftIndex is the pair of indexes every stored row carries.
type RaftIndex struct {
	CreateIndex uint64
	ModifyIndex uint64
}

// Node is a catalog node.
type Node struct {
	ID              string
	Node            string
	Address         string
	Datacenter      string
	TaggedAddresses map[string]string
	Meta            map[string]string
	RaftIndex
}

// Weights are a service instance's DNS SRV weights.
type Weights struct {
	Passing int
	Warning int
}

// ServiceAddress is one entry of a service's tagged addresses.
type ServiceAddress struct {
	Address string
	Port    int
}

// MeshGateway is kept only so that service JSON has Consul's shape.
type MeshGateway struct {
	Mode string `json:",omitempty"`
}

// ServiceProxy is kept only so that service JSON has Consul's shape; a
// registration that sets anything in it is refused (NoMesh), and Set
// records that it did.
type ServiceProxy struct {
	MeshGateway MeshGateway
	Expose      struct{} `json:"Expose"`
	set         bool
}

// UnmarshalJSON notes whether a registration said anything in Proxy.
func (p *ServiceProxy) UnmarshalJSON(b []byte) error {
	var m map[string]interface{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*p = ServiceProxy{set: !meshEmpty(m)}
	return nil
}

// Set reports a registration that filled in proxy settings.
func (p ServiceProxy) Set() bool { return p.set }

// ServiceConnect is kept only so that service JSON has Consul's shape; as
// with ServiceProxy, a registration that sets anything in it is refused.
type ServiceConnect struct{ set bool }

// UnmarshalJSON notes whether a registration said anything in Connect.
func (c *ServiceConnect) UnmarshalJSON(b []byte) error {
	var m map[string]interface{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*c = ServiceConnect{set: !meshEmpty(m)}
	return nil
}

// Set reports a registration that filled in connect settings.
func (c ServiceConnect) Set() bool { return c.set }

// meshEmpty reports proxy or connect settings that say nothing: every
// value is a zero (how clients send the structs they always fill in).
func meshEmpty(m map[string]interface{}) bool {
	for _, v := range m {
		switch x := v.(type) {
		case nil, bool:
			if x == true {
				return false
			}
		case string:
			if x != "" {
				return false
			}
		case float64:
			if x != 0 {
				return false
			}
		case map[string]interface{}:
			if !meshEmpty(x) {
				return false
			}
		case []interface{}:
			if len(x) > 0 {
				return false
			}
		}
	}
	return true
}

// NodeService is one service instance as seen from its node: the shape of
// /v1/agent/services entries, /v1/catalog/node services and the "Service" of
// a health entry.
type NodeService struct {
	Kind              string `json:",omitempty"`
	ID                string
	Service           string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	Meta              map[string]string
	Port              int
	Weights           Weights
	EnableTagOverride bool
	Proxy             ServiceProxy
	Connect           ServiceConnect
	Datacenter        string `json:",omitempty"`
	RaftIndex
}

// ServiceRow is how the store keeps a service instance: the node it runs on
// plus the instance.
type ServiceRow struct {
	Node string
	NodeService
}

// ServiceNode is the flattened node+service shape of /v1/catalog/service/<s>.
type ServiceNode struct {
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
	ServiceTaggedAddresses   map[string]ServiceAddress `json:",omitempty"`
	ServiceWeights           Weights
	ServiceMeta              map[string]string
	ServicePort              int
	ServiceEnableTagOverride bool
	ServiceProxy             ServiceProxy
	ServiceConnect           ServiceConnect
	RaftIndex
}

// NewServiceNode joins a node and one of its services.
func NewServiceNode(n *Node, s *NodeService) ServiceNode {
	return ServiceNode{
		ID:                       n.ID,
		Node:                     n.Node,
		Address:                  n.Address,
		Datacenter:               n.Datacenter,
		TaggedAddresses:          n.TaggedAddresses,
		NodeMeta:                 n.Meta,
		ServiceKind:              s.Kind,
		ServiceID:                s.ID,
		ServiceName:              s.Service,
		ServiceTags:              s.Tags,
		ServiceAddress:           s.Address,
		ServiceTaggedAddresses:   s.TaggedAddresses,
		ServiceWeights:           s.Weights,
		ServiceMeta:              s.Meta,
		ServicePort:              s.Port,
		ServiceEnableTagOverride: s.EnableTagOverride,
		ServiceProxy:             s.Proxy,
		ServiceConnect:           s.Connect,
		RaftIndex:                s.RaftIndex,
	}
}

// HealthCheckDefinition is how a check runs, as shown in the API.
type HealthCheckDefinition struct {
	HTTP                           string              `json:",omitempty"`
	Header                         map[string][]string `json:",omitempty"`
	Method                         string              `json:",omitempty"`
	Body                           string              `json:",omitempty"`
	TLSServerName                  string              `json:",omitempty"`
	TLSSkipVerify                  bool                `json:",omitempty"`
	TCP                            string              `json:",omitempty"`
	TCPUseTLS                      bool                `json:",omitempty"`
	UDP                            string              `json:",omitempty"`
	GRPC                           string              `json:",omitempty"`
	GRPCUseTLS                     bool                `json:",omitempty"`
	ScriptArgs                     []string            `json:",omitempty"`
	DockerContainerID              string              `json:",omitempty"`
	AliasNode                      string              `json:",omitempty"`
	AliasService                   string              `json:",omitempty"`
	OSService                      string              `json:",omitempty"`
	TTL                            Duration            `json:",omitempty"`
	Interval                       Duration            `json:",omitempty"`
	Timeout                        Duration            `json:",omitempty"`
	DeregisterCriticalServiceAfter Duration            `json:",omitempty"`
}

// Type names the kind of check the definition describes, as a check's
// Type field shows it; "" when it says nothing.
func (d *HealthCheckDefinition) Type() string {
	switch {
	case d.TTL > 0:
		return CheckTypeTTL
	case d.DockerContainerID != "":
		return CheckTypeDocker
	case len(d.ScriptArgs) > 0:
		return CheckTypeScript
	case d.HTTP != "":
		return CheckTypeHTTP
	case d.TCP != "":
		return CheckTypeTCP
	case d.UDP != "":
		return CheckTypeUDP
	case d.GRPC != "":
		return CheckTypeGRPC
	case d.AliasService != "" || d.AliasNode != "":
		return CheckTypeAlias
	case d.OSService != "":
		return CheckTypeOS
	}
	return ""
}

// HealthCheck is a check's current state in the catalog.
type HealthCheck struct {
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
	ExposedPort int
	Definition  HealthCheckDefinition
	RaftIndex
}

// IsSame reports whether two checks would show the same to a reader,
// ignoring their indexes.
func (c *HealthCheck) IsSame(o *HealthCheck) bool {
	if c.Node != o.Node || c.CheckID != o.CheckID || c.Name != o.Name ||
		c.Status != o.Status || c.Notes != o.Notes || c.Output != o.Output ||
		c.ServiceID != o.ServiceID || c.ServiceName != o.ServiceName ||
		c.Type != o.Type || c.ExposedPort != o.ExposedPort ||
		!StringsEqual(c.ServiceTags, o.ServiceTags) {
		return false
	}
	return c.Definition.equal(&o.Definition)
}

func (d *HealthCheckDefinition) equal(o *HealthCheckDefinition) bool {
	return d.HTTP == o.HTTP && d.Method == o.Method && d.Body == o.Body &&
		d.TLSServerName == o.TLSServerName && d.TLSSkipVerify == o.TLSSkipVerify &&
		d.TCP == o.TCP && d.TCPUseTLS == o.TCPUseTLS && d.UDP == o.UDP && d.OSService == o.OSService &&
		d.GRPC == o.GRPC && d.GRPCUseTLS == o.GRPCUseTLS &&
		d.DockerContainerID == o.DockerContainerID && d.AliasNode == o.AliasNode &&
		d.AliasService == o.AliasService && d.TTL == o.TTL && d.Interval == o.Interval &&
		d.Timeout == o.Timeout && d.DeregisterCriticalServiceAfter == o.DeregisterCriticalServiceAfter &&
		StringsEqual(d.ScriptArgs, o.ScriptArgs) && headersEqual(d.Header, o.Header)
}

// IsSame reports whether two service instances are equal apart from indexes.
func (s *NodeService) IsSame(o *NodeService) bool {
	return s.Kind == o.Kind && s.ID == o.ID && s.Service == o.Service &&
		s.Address == o.Address && s.Port == o.Port && s.Weights == o.Weights &&
		s.EnableTagOverride == o.EnableTagOverride &&
		StringsEqual(s.Tags, o.Tags) && MapsEqual(s.Meta, o.Meta) &&
		taggedEqual(s.TaggedAddresses, o.TaggedAddresses)
}

// IsSame reports whether two nodes are equal apart from indexes.
func (n *Node) IsSame(o *Node) bool {
	return n.ID == o.ID && n.Node == o.Node && n.Address == o.Address &&
		n.Datacenter == o.Datacenter && MapsEqual(n.TaggedAddresses, o.TaggedAddresses) &&
		MapsEqual(n.Meta, o.Meta)
}

// DirEntry is one KV entry.
type DirEntry struct {
	LockIndex uint64
	Key       string
	Flags     uint64
	Value     []byte
	Session   string `json:",omitempty"`
	RaftIndex
}

// Session behaviours.
const (
	SessionRelease = "release"
	SessionDelete  = "delete"
)

// ServiceCheck names a service check a session is bound to.
type ServiceCheck struct {
	ID        string
	Namespace string
}

// Session is a lock session.
type Session struct {
	ID            string
	Name          string
	Node          string
	LockDelay     time.Duration
	Behavior      string
	TTL           string
	NodeChecks    []string
	ServiceChecks []ServiceCheck
	RaftIndex
}

// CheckIDs lists every check (node and service) the session is bound to.
func (s *Session) CheckIDs() []string {
	ids := make([]string, 0, len(s.NodeChecks)+len(s.ServiceChecks))
	ids = append(ids, s.NodeChecks...)
	for _, c := range s.ServiceChecks {
		ids = append(ids, c.ID)
	}
	return ids
}

// StringsEqual compares two string slices, nil equal to empty.
func StringsEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// HasTags reports whether have carries every tag of want, compared
// without regard to case as Consul does.
func HasTags(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			if strings.EqualFold(h, w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// MetaMatches reports whether have holds every key of want with its value.
func MetaMatches(have, want map[string]string) bool {
	for k, v := range want {
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
	}
	return true
}

// MapsEqual compares two string maps, nil equal to empty.
func MapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func taggedEqual(a, b map[string]ServiceAddress) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func headersEqual(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !StringsEqual(v, b[k]) {
			return false
		}
	}
	return true
}

// GenerateUUID returns a random version 4 UUID.
func GenerateUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
