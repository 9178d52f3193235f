package structs

import (
	"errors"
	"regexp"
)

// ErrQueryNotFound is the answer for a prepared query ID or name that
// resolves to nothing; the HTTP API answers it with 404 and this text.
var ErrQueryNotFound = errors.New("Query not found")

// QueryTemplateNamePrefixMatch is the only template type: the template
// answers every name its Name is a prefix of.
const QueryTemplateNamePrefixMatch = "name_prefix_match"

// RedactedToken stands in for a prepared query's token in what a caller
// without ACL management rights reads.
const RedactedToken = "<hidden>"

// PreparedQuery is a stored service query, executed by ID or name over the
// HTTP API and DNS. Fields beacon refuses (mesh, peering, namespaces) are
// kept so that a definition naming them is refused by name, not dropped.
type PreparedQuery struct {
	ID       string
	Name     string
	Session  string
	Token    string
	Template QueryTemplate
	Service  ServiceQuery
	DNS      QueryDNSOptions
	RaftIndex
}

// QueryTemplate makes a query a template.
type QueryTemplate struct {
	Type            string
	Regexp          string
	RemoveEmptyTags bool
}

// ServiceQuery selects the healthy instances of one service.
type ServiceQuery struct {
	Service        string
	SamenessGroup  string `json:",omitempty"`
	Failover       QueryFailoverOptions
	OnlyPassing    bool
	IgnoreCheckIDs []string
	Near           string
	Tags           []string
	NodeMeta       map[string]string
	ServiceMeta    map[string]string
	Peer           string `json:",omitempty"`
	Connect        bool
	Namespace      string `json:",omitempty"`
	Partition      string `json:",omitempty"`
}

// QueryFailoverOptions say which other datacenters to ask when the local
// one has no healthy instance.
type QueryFailoverOptions struct {
	NearestN    int
	Datacenters []string
	Targets     []QueryFailoverTarget
}

// QueryFailoverTarget is one datacenter (or, in Consul, cluster peer) to
// fail over to.
type QueryFailoverTarget struct {
	Peer       string `alias:"PeerName"`
	Datacenter string
	Partition  string `json:",omitempty"`
	Namespace  string `json:",omitempty"`
}

// QueryDNSOptions are how results are served over DNS.
type QueryDNSOptions struct {
	TTL string
}

var uuidForm = regexp.MustCompile(`^(?i)[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// IsUUID reports whether s has the form of a UUID, as query IDs do: a name
// of that form is looked up as an ID first.
func IsUUID(s string) bool { return len(s) == 36 && uuidForm.MatchString(s) }

// IsTemplate reports whether the query is a template.
func (q *PreparedQuery) IsTemplate() bool { return q.Template.Type != "" }

// ACLPrefix is the name query rules are matched against, and false for a
// query without a name that is no template: such a query is governed by
// whoever knows its ID.
func (q *PreparedQuery) ACLPrefix() (string, bool) {
	if q.Name != "" || q.IsTemplate() {
		return q.Name, true
	}
	return "", false
}

// Clone is a deep copy of the query.
func (q *PreparedQuery) Clone() *PreparedQuery {
	c := *q
	s := &c.Service
	s.IgnoreCheckIDs = cloneStrings(s.IgnoreCheckIDs)
	s.Tags = cloneStrings(s.Tags)
	s.NodeMeta = cloneMap(s.NodeMeta)
	s.ServiceMeta = cloneMap(s.ServiceMeta)
	s.Failover.Datacenters = cloneStrings(s.Failover.Datacenters)
	if s.Failover.Targets != nil {
		s.Failover.Targets = append([]QueryFailoverTarget(nil), s.Failover.Targets...)
	}
	return &c
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// PreparedQueryOp is a prepared query write operation.
type PreparedQueryOp string

// Prepared query write operations.
const (
	PreparedQueryCreate PreparedQueryOp = "create"
	PreparedQueryUpdate PreparedQueryOp = "update"
	PreparedQueryDelete PreparedQueryOp = "delete"
)

// PreparedQueryRequest creates, updates or deletes a prepared query.
type PreparedQueryRequest struct {
	Datacenter string
	Op         PreparedQueryOp
	Query      *PreparedQuery
	WriteRequest
}

// PreparedQuerySpecificRequest reads one prepared query by ID.
type PreparedQuerySpecificRequest struct {
	Datacenter string
	QueryID    string
	QueryOptions
}

// QuerySource is where a query is executed from: the agent that asked,
// and the node or address its results are sorted near.
type QuerySource struct {
	Datacenter string
	Node       string
	Segment    string
	IP         string `json:"Ip"`
}

// PreparedQueryExecuteRequest runs (or explains) a prepared query by ID or
// name.
type PreparedQueryExecuteRequest struct {
	Datacenter    string
	QueryIDOrName string
	// Limit keeps the first Limit results (0: all).
	Limit int
	// Source is the caller's ?near= node and address; Agent the agent
	// that took the request, which "_agent" means.
	Source QuerySource
	Agent  QuerySource
	QueryOptions
}

// IndexedPreparedQueries are prepared queries with the query's index.
type IndexedPreparedQueries struct {
	Queries []*PreparedQuery
	QueryMeta
}

// PreparedQueryExecuteResponse is what a query's execution found.
type PreparedQueryExecuteResponse struct {
	Service    string
	Nodes      []CheckServiceNode
	DNS        QueryDNSOptions
	Datacenter string
	// Failovers counts the other datacenters asked.
	Failovers int
	QueryMeta
}

// PreparedQueryExplainResponse is the query a name resolves to, rendered
// if it is a template.
type PreparedQueryExplainResponse struct {
	Query PreparedQuery
	QueryMeta
}
