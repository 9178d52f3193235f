package structs

// Auth method types.
const (
	AuthMethodJWT        = "jwt"
	AuthMethodKubernetes = "kubernetes"
)

// ACLAuthMethod is a way to log in: a type and its configuration, and
// what the tokens it makes are like.
type ACLAuthMethod struct {
	Name        string
	Type        string
	DisplayName string   `json:",omitempty"`
	Description string   `json:",omitempty"`
	MaxTokenTTL Duration `json:",omitempty"`
	// TokenLocality is "local" (or empty) or "global".
	TokenLocality string `json:",omitempty"`
	Config        map[string]interface{}
	RaftIndex
}

// Binding rule types: what a rule grants the token of a login.
const (
	BindTypeService         = "service"
	BindTypeNode            = "node"
	BindTypeRole            = "role"
	BindTypePolicy          = "policy"
	BindTypeTemplatedPolicy = "templated-policy"
)

// ACLBindingRule says what a login through one auth method grants: when
// its Selector matches the login's claims, the token gets the identity,
// role, policy or templated policy BindName names, with ${value.x}
// replaced by the login's claim values.
type ACLBindingRule struct {
	ID          string
	Description string
	AuthMethod  string
	Selector    string
	BindType    string
	BindName    string
	BindVars    *ACLTemplatedPolicyVariables `json:",omitempty"`
	RaftIndex
}

// ACLLoginRequest trades a bearer token an auth method can check for a
// token of its own.
type ACLLoginRequest struct {
	Datacenter  string
	AuthMethod  string
	BearerToken string
	Meta        map[string]string `json:",omitempty"`
	WriteRequest
}

// IndexedACLAuthMethods are auth methods with the query's index.
type IndexedACLAuthMethods struct {
	AuthMethods []*ACLAuthMethod
	QueryMeta
}

// IndexedACLBindingRules are binding rules with the query's index.
type IndexedACLBindingRules struct {
	BindingRules []*ACLBindingRule
	QueryMeta
}
