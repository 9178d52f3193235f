// Package acl decides what an ACL token may do: it parses policy rules
// (HCL or JSON, Consul's syntax), compiles a token's policies into an
// Authorizer that answers "may this token read key foo?", and resolves
// secrets to Authorizers through a cache that keeps agents working, as
// their down_policy says, while the servers cannot be reached.
package acl

import (
	"fmt"

	"github.com/beacon-sd/beacon/core/structs"
)

// Access is a level of access, ordered: each level grants the ones below
// it except deny.
type Access uint8

// Access levels. accessNone means "no rule says": the next rule or the
// default decides.
const (
	accessNone Access = iota
	Deny
	List
	Read
	Write
)

func (a Access) String() string {
	switch a {
	case Deny:
		return "deny"
	case List:
		return "list"
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "none"
}

// parseAccess reads a policy value.
func parseAccess(s string) (Access, bool) {
	switch s {
	case "deny":
		return Deny, true
	case "list":
		return List, true
	case "read":
		return Read, true
	case "write":
		return Write, true
	}
	return accessNone, false
}

// grants reports whether holding a grants need.
func (a Access) grants(need Access) bool { return a != Deny && a >= need }

// Resource is a kind of thing rules govern.
type Resource uint8

// Resources. The first group is named (rules per name and per prefix), the
// second global (one level for the whole cluster).
const (
	Key Resource = iota
	Node
	Service
	Agent
	Session
	Event
	Query
	Operator
	ACL
	Keyring
	numResources
)

var resourceNames = [numResources]string{
	Key: "key", Node: "node", Service: "service", Agent: "agent", Session: "session",
	Event: "event", Query: "query", Operator: "operator", ACL: "acl", Keyring: "keyring",
}

func (r Resource) String() string {
	if r < numResources {
		return resourceNames[r]
	}
	return "unknown"
}

// named reports whether rules for r name things (key "x" { ... }).
func (r Resource) named() bool { return r <= Query }

// Policy names of the agent's settings.
const (
	PolicyAllow = "allow"
	PolicyDeny  = "deny"
	// Down policies: what a client agent does with a token it cannot
	// resolve because no server answers.
	DownExtendCache = "extend-cache"
	DownAsyncCache  = "async-cache"
	DownDeny        = "deny"
	DownAllow       = "allow"
)

// ValidDefaultPolicy reports whether p is a default_policy value.
func ValidDefaultPolicy(p string) bool { return p == PolicyAllow || p == PolicyDeny }

// ValidDownPolicy reports whether p is a down_policy value.
func ValidDownPolicy(p string) bool {
	switch p {
	case DownExtendCache, DownAsyncCache, DownDeny, DownAllow:
		return true
	}
	return false
}

// PermissionDeniedError says which permission a token lacked. Its text
// starts with "Permission denied", as clients match on it.
type PermissionDeniedError struct {
	Accessor string
	Resource Resource
	Need     Access
	Name     string
}

func (e *PermissionDeniedError) Error() string {
	msg := fmt.Sprintf("%s: %s lacks permission '%s:%s'", structs.ErrPermissionDenied, holder(e.Accessor), e.Resource, e.Need)
	if e.Resource.named() {
		msg += fmt.Sprintf(" on %q", e.Name)
	}
	if anonymous(e.Accessor) {
		msg += anonymousHint
	}
	return msg
}

// anonymousHint ends a denial of the anonymous token, as Consul's do.
const anonymousHint = ". The anonymous token is used implicitly when a request does not specify a token."

// anonymous reports whether accessor is the anonymous token's.
func anonymous(accessor string) bool {
	return accessor == "" || accessor == structs.ACLTokenAnonymousID
}

// holder names a token in a denial.
func holder(accessor string) string {
	if anonymous(accessor) {
		return "anonymous token"
	}
	return fmt.Sprintf("token with AccessorID '%s'", accessor)
}

// Unwrap makes the error match structs.ErrPermissionDenied.
func (e *PermissionDeniedError) Unwrap() error { return structs.ErrPermissionDenied }
