package structs

import (
	"math/rand/v2"
	"os"
	"sort"
	"time"
)

// Blocking query limits.
const (
	DefaultQueryWait = 5 * time.Minute
	MaxQueryWait     = 10 * time.Minute
)

// BlockWait is how long a blocking query asked to wait w waits: Consul's
// default when w is not set, its cap when w is longer, plus up to 1/16 of
// it at random, so that many clients do not return together.
func BlockWait(w time.Duration) time.Duration {
	if w <= 0 {
		w = DefaultQueryWait
	}
	if w > MaxQueryWait {
		w = MaxQueryWait
	}
	if j := int64(w / 16); j > 0 {
		w += time.Duration(rand.Int64N(j))
	}
	return w
}

// QueryOptions are the read options every query endpoint takes.
type QueryOptions struct {
	Token             string
	MinIndex          uint64
	MaxWait           time.Duration
	AllowStale        bool
	RequireConsistent bool
	MaxStaleDuration  time.Duration
	// Filter is a ?filter= expression the server applies to the list it
	// answers (core/filter); "" keeps everything.
	Filter string `json:",omitempty"`
}

// QueryMeta is what a read reports about itself.
type QueryMeta struct {
	Index       uint64
	LastContact time.Duration
	KnownLeader bool
	// ResultsFilteredByACLs is set when the token could not read part of
	// the result and it was left out.
	ResultsFilteredByACLs bool `json:",omitempty"`
}

// KeyRequest reads one KV key.
type KeyRequest struct {
	Datacenter string
	Key        string
	QueryOptions
}

// KeyListRequest reads the KV entries or keys under a prefix.
type KeyListRequest struct {
	Datacenter string
	Prefix     string
	Separator  string
	QueryOptions
}

// DCSpecificRequest is a query scoped to a datacenter only.
type DCSpecificRequest struct {
	Datacenter      string
	NodeMetaFilters map[string]string
	QueryOptions
}

// ServiceSpecificRequest queries the instances of one service.
type ServiceSpecificRequest struct {
	Datacenter      string
	ServiceName     string
	ServiceTags     []string
	NodeMetaFilters map[string]string
	PassingOnly     bool
	QueryOptions
}

// NodeSpecificRequest queries one node.
type NodeSpecificRequest struct {
	Datacenter string
	Node       string
	QueryOptions
}

// ChecksInStateRequest lists checks in a state.
type ChecksInStateRequest struct {
	Datacenter      string
	State           string
	NodeMetaFilters map[string]string
	QueryOptions
}

// SessionSpecificRequest reads one session.
type SessionSpecificRequest struct {
	Datacenter string
	SessionID  string
	QueryOptions
}

// IndexedDirEntries are KV entries with the query's index.
type IndexedDirEntries struct {
	Entries []*DirEntry
	QueryMeta
}

// IndexedKeyList are KV keys with the query's index.
type IndexedKeyList struct {
	Keys []string
	QueryMeta
}

// IndexedNodes are catalog nodes with the query's index.
type IndexedNodes struct {
	Nodes []*Node
	QueryMeta
}

// IndexedServices maps service names to the union of their tags.
type IndexedServices struct {
	Services map[string][]string
	QueryMeta
}

// TagUnion collects the tags of service instances by service name: the
// values of /v1/catalog/services.
type TagUnion map[string]map[string]struct{}

// Add counts one instance of service name with its tags.
func (u TagUnion) Add(name string, tags []string) {
	set, ok := u[name]
	if !ok {
		set = make(map[string]struct{}, len(tags))
		u[name] = set
	}
	for _, tag := range tags {
		set[tag] = struct{}{}
	}
}

// Map is each service name with its tags, sorted.
func (u TagUnion) Map() map[string][]string {
	out := make(map[string][]string, len(u))
	for name, set := range u {
		tags := make([]string, 0, len(set))
		for tag := range set {
			tags = append(tags, tag)
		}
		sort.Strings(tags)
		out[name] = tags
	}
	return out
}

// IndexedServiceNodes are the instances of one service.
type IndexedServiceNodes struct {
	ServiceNodes []ServiceNode
	QueryMeta
}

// IndexedNodeServices is a node and its services; Node is nil when the node
// does not exist.
type IndexedNodeServices struct {
	Node     *Node
	Services []*NodeService
	QueryMeta
}

// IndexedHealthChecks are checks with the query's index.
type IndexedHealthChecks struct {
	HealthChecks []*HealthCheck
	QueryMeta
}

// CheckServiceNode is one service instance with its node and every check
// that bears on it (node checks and its own).
type CheckServiceNode struct {
	Node    *Node
	Service *NodeService
	Checks  []*HealthCheck
}

// IndexedCheckServiceNodes are health entries of one service.
type IndexedCheckServiceNodes struct {
	Nodes []CheckServiceNode
	QueryMeta
}

// IndexedSessions are sessions with the query's index.
type IndexedSessions struct {
	Sessions []*Session
	QueryMeta
}

// Options returns the options; request types that embed QueryOptions get it
// too, which lets one helper serve every read.
func (q *QueryOptions) Options() *QueryOptions { return q }

// Meta returns the meta; reply types that embed QueryMeta get it too.
func (m *QueryMeta) Meta() *QueryMeta { return m }

// SnapshotRequest asks for a snapshot archive, or carries one to restore:
// in Archive, or in ArchiveFile when it came in through this agent's HTTP
// API.
type SnapshotRequest struct {
	Datacenter  string
	Archive     []byte   `json:",omitempty"`
	ArchiveFile *os.File `json:"-"`
	QueryOptions
}

// SnapshotReply is an archive and the index it was taken at: in Archive,
// or, from this agent's own server, in ArchiveFile, an unlinked temporary
// file read from its start, which the caller closes.
type SnapshotReply struct {
	Archive     []byte
	ArchiveFile *os.File `json:"-"`
	QueryMeta
}

// RaftServer is one server of the raft configuration, as
// /v1/operator/raft/configuration shows it.
type RaftServer struct {
	ID              string
	Node            string
	Address         string
	Leader          bool
	ProtocolVersion string
	Voter           bool
	LastIndex       uint64
}

// RaftConfigurationReply is the raft configuration.
type RaftConfigurationReply struct {
	Servers []*RaftServer
	Index   uint64
}

// RaftRemovePeerRequest removes a server from raft by ID or address.
type RaftRemovePeerRequest struct {
	Datacenter string
	ID         string
	Address    string
	WriteRequest
}
