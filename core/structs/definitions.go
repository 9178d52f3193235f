package structs

import (
	"fmt"
	"strings"
	"time"
)

// ServiceDefinition is a service as users write it: the body of
// /v1/agent/service/register and a "service" block of a config file.
type ServiceDefinition struct {
	Kind              string
	ID                string
	Name              string
	Tags              []string
	Address           string
	TaggedAddresses   map[string]ServiceAddress
	Meta              map[string]string
	Port              int
	Weights           *Weights
	EnableTagOverride bool
	Check             *CheckDefinition
	Checks            []*CheckDefinition
	Token             string
	// Service mesh settings: beacon has no service mesh, so a definition
	// that sets either is refused (Validate) rather than half applied.
	Connect   interface{} `json:",omitempty"`
	Proxy     interface{} `json:",omitempty"`
	Namespace string      `json:",omitempty"`
	Partition string      `json:",omitempty"`
	Locality  interface{} `json:",omitempty"`
}

// CheckDefinition is a check as users write it: the body of
// /v1/agent/check/register, or a check inside a service definition.
type CheckDefinition struct {
	CheckID                        string `alias:"id"`
	Name                           string
	Notes                          string
	Status                         string
	ServiceID                      string
	ScriptArgs                     []string `alias:"args"`
	Script                         string
	DockerContainerID              string
	Shell                          string
	HTTP                           string
	Header                         map[string][]string
	Method                         string
	Body                           string
	DisableRedirects               bool
	TLSServerName                  string
	TLSSkipVerify                  bool
	TCP                            string
	TCPUseTLS                      bool
	UDP                            string
	GRPC                           string
	GRPCUseTLS                     bool
	H2PING                         string
	H2PingUseTLS                   bool
	OSService                      string
	AliasNode                      string
	AliasService                   string
	TTL                            Duration
	Interval                       Duration
	Timeout                        Duration
	DeregisterCriticalServiceAfter Duration
	SuccessBeforePassing           int
	FailuresBeforeWarning          int
	FailuresBeforeCritical         int
	OutputMaxSize                  int
	Token                          string
	Namespace                      string `json:",omitempty"`
	Partition                      string `json:",omitempty"`
}

// Check types, as shown in a check's Type field.
const (
	CheckTypeTTL    = "ttl"
	CheckTypeHTTP   = "http"
	CheckTypeTCP    = "tcp"
	CheckTypeUDP    = "udp"
	CheckTypeScript = "script"
	CheckTypeDocker = "docker"
	CheckTypeGRPC   = "grpc"
	CheckTypeH2Ping = "h2ping"
	CheckTypeAlias  = "alias"
	CheckTypeOS     = "os_service"
)

// Type names what kind of check the definition describes, "" when none:
// what the catalog's definition tells (HealthCheckDefinition.Type), with
// a script given as one line and an h2ping check, which it cannot show.
func (c *CheckDefinition) Type() string {
	d := c.Definition()
	if c.Script != "" && len(d.ScriptArgs) == 0 {
		d.ScriptArgs = []string{c.Script}
	}
	t := d.Type()
	if c.H2PING != "" && (t == "" || t == CheckTypeAlias || t == CheckTypeOS) {
		return CheckTypeH2Ping
	}
	return t
}

// Validate checks that the definition describes exactly one runnable check.
func (c *CheckDefinition) Validate() error {
	t := c.Type()
	if t == "" {
		return fmt.Errorf("check %q: it must have one of ttl, http, tcp, udp, grpc, h2ping, args/script, docker_container_id, alias_service or os_service", c.label())
	}
	if t != CheckTypeTTL && t != CheckTypeAlias && c.Interval <= 0 {
		return fmt.Errorf("check %q: a %s check needs an interval", c.label(), t)
	}
	if t == CheckTypeDocker && len(c.ScriptArgs) == 0 && c.Script == "" {
		return fmt.Errorf("check %q: a docker check needs args to run in the container", c.label())
	}
	if c.Interval > 0 && c.Interval.D() < time.Second && t != CheckTypeTTL {
		c.Interval = Duration(time.Second)
	}
	if c.Status != "" && !ValidStatus(c.Status) {
		return fmt.Errorf("check %q: invalid status %q", c.label(), c.Status)
	}
	if c.Method != "" && strings.ContainsAny(c.Method, " \t\r\n") {
		return fmt.Errorf("check %q: invalid HTTP method %q", c.label(), c.Method)
	}
	return nil
}

func (c *CheckDefinition) label() string {
	if c.CheckID != "" {
		return c.CheckID
	}
	return c.Name
}

// Definition returns how the check runs, for the API.
func (c *CheckDefinition) Definition() HealthCheckDefinition {
	return HealthCheckDefinition{
		HTTP: c.HTTP, Header: c.Header, Method: c.Method, Body: c.Body,
		TLSServerName: c.TLSServerName, TLSSkipVerify: c.TLSSkipVerify,
		TCP: c.TCP, TCPUseTLS: c.TCPUseTLS, UDP: c.UDP, OSService: c.OSService,
		GRPC: c.GRPC, GRPCUseTLS: c.GRPCUseTLS,
		ScriptArgs: c.ScriptArgs, DockerContainerID: c.DockerContainerID,
		AliasNode: c.AliasNode, AliasService: c.AliasService,
		TTL: c.TTL, Interval: c.Interval, Timeout: c.Timeout,
		DeregisterCriticalServiceAfter: c.DeregisterCriticalServiceAfter,
	}
}

// NodeService turns the definition into the instance kept in the catalog,
// applying Consul's defaults (ID from name, weights 1/1).
func (s *ServiceDefinition) NodeService() *NodeService {
	ns := &NodeService{
		Kind: s.Kind, ID: s.ID, Service: s.Name, Tags: s.Tags, Address: s.Address,
		TaggedAddresses: s.TaggedAddresses, Meta: s.Meta, Port: s.Port,
		EnableTagOverride: s.EnableTagOverride,
		Weights:           Weights{Passing: 1, Warning: 1},
	}
	if ns.ID == "" {
		ns.ID = s.Name
	}
	if s.Weights != nil {
		ns.Weights = *s.Weights
	}
	if ns.Meta == nil {
		ns.Meta = map[string]string{}
	}
	if ns.Tags == nil {
		ns.Tags = []string{}
	}
	return ns
}

// Validate checks a service definition and the checks inside it.
func (s *ServiceDefinition) Validate() error {
	if s.Name == "" {
		return fmt.Errorf("service definition needs a name")
	}
	if err := NoMesh(s.Name, s.Kind, !isEmptyValue(s.Proxy), !isEmptyValue(s.Connect)); err != nil {
		return err
	}
	if s.Port < 0 || s.Port > 65535 {
		return fmt.Errorf("service %q: port %d is out of range", s.Name, s.Port)
	}
	if s.Weights != nil && (s.Weights.Passing < 1 || s.Weights.Warning < 0) {
		return fmt.Errorf("service %q: weights must be passing >= 1 and warning >= 0", s.Name)
	}
	for k := range s.Meta {
		if k == "" || len(k) > 128 {
			return fmt.Errorf("service %q: meta key %q must be 1 to 128 characters", s.Name, k)
		}
	}
	for _, c := range s.AllChecks() {
		if err := c.Validate(); err != nil {
			return fmt.Errorf("service %q: %w", s.Name, err)
		}
	}
	return nil
}

// AllChecks is Check and Checks together.
func (s *ServiceDefinition) AllChecks() []*CheckDefinition { return OneAndMany(s.Check, s.Checks) }

// OneAndMany joins a singular definition key ("check") and its plural
// ("checks") into one list, leaving out nils.
func OneAndMany[T any](one *T, many []*T) []*T {
	var out []*T
	if one != nil {
		out = append(out, one)
	}
	for _, m := range many {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

// NoMesh refuses the parts of a service registration that belong to
// service mesh (a proxy or gateway kind, proxy or connect settings), which
// beacon does not do: naming what was asked is better than registering the
// service without it.
func NoMesh(service, kind string, proxy, connect bool) error {
	switch {
	case kind != "" && kind != "typical":
		return fmt.Errorf("service %q: kind %q is service mesh, which beacon does not do", service, kind)
	case proxy:
		return fmt.Errorf("service %q: Proxy settings are service mesh, which beacon does not do", service)
	case connect:
		return fmt.Errorf("service %q: Connect settings are service mesh, which beacon does not do", service)
	}
	return nil
}

// isEmptyValue reports a decoded JSON/HCL value that says nothing: absent,
// null, or an empty object or list.
func isEmptyValue(v interface{}) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]interface{}:
		return len(x) == 0
	case []interface{}:
		return len(x) == 0
	case []map[string]interface{}:
		return len(x) == 0
	}
	return false
}
