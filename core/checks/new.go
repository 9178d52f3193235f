package checks

import (
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/structs"
)

// Validate reports whether a definition can be run by this agent, without
// running it.
func Validate(def *structs.CheckDefinition) error {
	_, _, err := New(def.CheckID, def, structs.HealthCritical, Options{Notifier: discard{}})
	return err
}

type discard struct{}

func (discard) UpdateCheck(string, string, string) {}

// Options are what New needs besides the definition.
type Options struct {
	Notifier  Notifier
	Catalog   CatalogReader // for alias checks
	LocalNode string        // an alias without alias_node watches this node
	Logger    hclog.Logger
}

// New builds the runner of a check definition, not yet started. For a TTL
// check it also returns the TTL, which takes the application's updates.
func New(id string, def *structs.CheckDefinition, initial string, o Options) (Runner, *TTL, error) {
	if o.Logger == nil {
		o.Logger = hclog.NewNullLogger()
	}
	var probe Probe
	var err error
	switch t := def.Type(); t {
	case structs.CheckTypeTTL:
		ttl := &TTL{CheckID: id, TTL: def.TTL.D(), Notifier: o.Notifier}
		return ttl, ttl, nil
	case structs.CheckTypeAlias:
		node := def.AliasNode
		if node == "" {
			node = o.LocalNode
		}
		return &Alias{CheckID: id, Node: node, ServiceID: def.AliasService, Catalog: o.Catalog, Notifier: o.Notifier}, nil, nil
	case structs.CheckTypeHTTP:
		probe, err = HTTPProbe(def)
	case structs.CheckTypeTCP:
		probe, err = TCPProbe(def)
	case structs.CheckTypeScript:
		probe, err = ScriptProbe(def)
	case structs.CheckTypeDocker:
		probe, err = DockerProbe(def)
	case structs.CheckTypeGRPC:
		probe, err = GRPCProbe(def)
	default:
		return nil, nil, fmt.Errorf("check %q: %s checks are not supported by this agent", id, t)
	}
	if err != nil {
		return nil, nil, err
	}
	return &Monitor{
		CheckID:  id,
		Interval: def.Interval.D(),
		Timeout:  defaultTimeout(def),
		Probe:    probe,
		Status:   NewStatusHandler(id, o.Notifier, def, initial),
		Logger:   o.Logger,
	}, nil, nil
}
