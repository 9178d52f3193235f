package structs

import (
	"crypto/sha256"
	"hash"
)

// ACLServiceIdentity grants what an instance of one service needs: write
// on the service (and its sidecar proxy's name), read on every service and
// node. Datacenters, when set, are where it applies.
type ACLServiceIdentity struct {
	ServiceName string
	Datacenters []string `json:",omitempty"`
}

// ACLNodeIdentity grants what an agent of one node needs, in one
// datacenter: write on the node, read on every service.
type ACLNodeIdentity struct {
	NodeName   string
	Datacenter string
}

// ACLTemplatedPolicy is a use of one of the builtin policy templates,
// with the variables it is rendered with. Datacenters, when set, are where
// it applies.
type ACLTemplatedPolicy struct {
	TemplateName      string
	TemplateVariables *ACLTemplatedPolicyVariables `json:",omitempty"`
	Datacenters       []string                     `json:",omitempty"`
}

// ACLTemplatedPolicyVariables are a template's variables. Consul writes
// them in lower case.
type ACLTemplatedPolicyVariables struct {
	Name string `json:"name,omitempty"`
}

// VarName is the template's name variable, "" when none is set.
func (tp *ACLTemplatedPolicy) VarName() string {
	if tp.TemplateVariables == nil {
		return ""
	}
	return tp.TemplateVariables.Name
}

// ACLRole is a named set of grants tokens can link to: policies,
// service and node identities, and templated policies.
type ACLRole struct {
	ID                string
	Name              string
	Description       string
	Policies          []ACLLink             `json:",omitempty"`
	ServiceIdentities []*ACLServiceIdentity `json:",omitempty"`
	NodeIdentities    []*ACLNodeIdentity    `json:",omitempty"`
	TemplatedPolicies []*ACLTemplatedPolicy `json:",omitempty"`
	Hash              []byte
	RaftIndex
}

// HasPolicy reports whether the role links to policy id.
func (r *ACLRole) HasPolicy(id string) bool { return hasLink(r.Policies, id) }

// SetHash computes the role's content hash.
func (r *ACLRole) SetHash() {
	h := sha256.New()
	writeField(h, r.Name)
	writeField(h, r.Description)
	for _, p := range r.Policies {
		writeField(h, p.ID)
	}
	hashGrants(h, nil, r.ServiceIdentities, r.NodeIdentities, r.TemplatedPolicies)
	r.Hash = h.Sum(nil)
}

// hashGrants adds role links, identities and templated policies to a
// content hash.
func hashGrants(h hash.Hash, roles []ACLLink, svcs []*ACLServiceIdentity, nodes []*ACLNodeIdentity, tps []*ACLTemplatedPolicy) {
	for _, r := range roles {
		writeField(h, "role:"+r.ID)
	}
	for _, s := range svcs {
		writeField(h, "service:"+s.ServiceName)
		for _, dc := range s.Datacenters {
			writeField(h, dc)
		}
	}
	for _, n := range nodes {
		writeField(h, "node:"+n.NodeName)
		writeField(h, n.Datacenter)
	}
	for _, tp := range tps {
		writeField(h, "template:"+tp.TemplateName)
		writeField(h, tp.VarName())
		for _, dc := range tp.Datacenters {
			writeField(h, dc)
		}
	}
}

// IndexedACLRoles are roles with the query's index.
type IndexedACLRoles struct {
	Roles []*ACLRole
	QueryMeta
}
