package acl

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/beacon-sd/beacon/core/structs"
)

// Template is one of the builtin policy templates: rules with a
// placeholder for a name, given to tokens and roles as templated
// policies. Service and node identities are the service and node
// templates under another form.
type Template struct {
	Name        string
	ID          string
	Description string
	// Schema is the JSON schema of the template's variables, "" when it
	// takes none.
	Schema string
	// Text is the template as Consul shows it: rules with {{.Name}} where
	// the name variable goes.
	Text string
	// Names says which names the name variable takes; nil when the
	// template takes no variable.
	Names *regexp.Regexp
}

const namePlaceholder = "{{.Name}}"

// nameSchema is the schema of templates that take a name.
const nameSchema = `{
	"type": "object",
	"properties": {
		"name": { "type": "string", "$ref": "#/definitions/min-length-one" }
	},
	"required": ["name"],
	"definitions": {
		"min-length-one": {
				"type": "string",
				"minLength": 1
		}
	}
}`

// IdentityName is what service and node identity names may be: lower
// case letters, digits, '-' and '_', starting and ending with a letter or
// digit, at most 256 characters.
var IdentityName = regexp.MustCompile(`^[a-z0-9]([a-z0-9\-_]{0,254}[a-z0-9])?$`)

// anyName accepts any non-empty name (the template quotes it).
var anyName = regexp.MustCompile(`^.+$`)

// Builtin template names.
const (
	TemplateService     = "builtin/service"
	TemplateNode        = "builtin/node"
	TemplateDNS         = "builtin/dns"
	TemplateNomadServer = "builtin/nomad-server"
	TemplateAPIGateway  = "builtin/api-gateway"
	TemplateNomadClient = "builtin/nomad-client"
)

var templates = map[string]*Template{
	TemplateService: {Name: TemplateService, ID: "00000000-0000-0000-0000-000000000003", Schema: nameSchema, Names: IdentityName,
		Description: "Lets a service's instances register it and its sidecar proxy, and discover every service and node.",
		Text: `
service "{{.Name}}" {
	policy = "write"
}
service "{{.Name}}-sidecar-proxy" {
	policy = "write"
}
service_prefix "" {
	policy = "read"
}
node_prefix "" {
	policy = "read"
}`},
	TemplateNode: {Name: TemplateNode, ID: "00000000-0000-0000-0000-000000000004", Schema: nameSchema, Names: IdentityName,
		Description: "Lets an agent register its node in the catalog and read the services registered on it.",
		Text: `
node "{{.Name}}" {
	policy = "write"
}
service_prefix "" {
	policy = "read"
}`},
	TemplateDNS: {Name: TemplateDNS, ID: "00000000-0000-0000-0000-000000000005",
		Description: "Lets the DNS interface answer for every node, service and prepared query.",
		Text: `
node_prefix "" {
	policy = "read"
}
service_prefix "" {
	policy = "read"
}
query_prefix "" {
	policy = "read"
}`},
	TemplateNomadServer: {Name: TemplateNomadServer, ID: "00000000-0000-0000-0000-000000000006",
		Description: "Grants what a Nomad server needs of the cluster.",
		Text: `
acl = "write"
agent_prefix "" {
  policy = "read"
}
node_prefix "" {
  policy = "read"
}
service_prefix "" {
  policy = "write"
}`},
	TemplateAPIGateway: {Name: TemplateAPIGateway, ID: "00000000-0000-0000-0000-000000000008", Schema: nameSchema, Names: anyName,
		Description: "Grants what an API gateway of the given name needs.",
		Text: `mesh = "read"
node_prefix "" {
	policy = "read"
}
service_prefix "" {
	policy = "read"
}
service "{{.Name}}" {
	policy = "write"
}`},
	TemplateNomadClient: {Name: TemplateNomadClient, ID: "00000000-0000-0000-0000-000000000009",
		Description: "Grants what a Nomad client needs of the cluster.",
		Text: `agent_prefix "" {
  policy = "read"
}
node_prefix "" {
  policy = "read"
}
service_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "read"
}
`},
}

// Templates lists the builtin templates by name.
func Templates() []*Template {
	out := make([]*Template, 0, len(templates))
	for _, t := range templates {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupTemplate finds a builtin template by name.
func LookupTemplate(name string) (*Template, bool) {
	t, ok := templates[name]
	return t, ok
}

// TemplateNames lists the names of the builtin templates.
func TemplateNames() []string {
	var out []string
	for _, t := range Templates() {
		out = append(out, t.Name)
	}
	return out
}

// CheckVars says what is wrong with a use of the template, nil if
// nothing.
func (t *Template) CheckVars(vars *structs.ACLTemplatedPolicyVariables) error {
	name := ""
	if vars != nil {
		name = vars.Name
	}
	switch {
	case t.Names == nil:
		return nil
	case name == "":
		return fmt.Errorf("templated policy %q needs the variable name", t.Name)
	case !t.Names.MatchString(name):
		return fmt.Errorf("templated policy %q: invalid name %q: only lowercase letters, digits, '-' and '_' are allowed", t.Name, name)
	}
	return nil
}

// hclString escapes a name for a quoted HCL string.
var hclString = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`)

// Render is the template's rules for vars, which CheckVars accepts.
func (t *Template) Render(vars *structs.ACLTemplatedPolicyVariables) (string, error) {
	if err := t.CheckVars(vars); err != nil {
		return "", err
	}
	if t.Names == nil {
		return t.Text, nil
	}
	return strings.ReplaceAll(t.Text, namePlaceholder, hclString.Replace(vars.Name)), nil
}

// Grant is one synthetic policy: rules a token has by a service or node
// identity or a templated policy, and the datacenters they apply in (all
// when empty).
type Grant struct {
	Rules       string
	Datacenters []string
}

// AppliesTo reports whether the grant is in force in datacenter dc.
func (g Grant) AppliesTo(dc string) bool {
	return (&structs.ACLPolicy{Datacenters: g.Datacenters}).AppliesTo(dc)
}

// Grants are the synthetic policies of service identities, node
// identities and templated policies.
func Grants(svcs []*structs.ACLServiceIdentity, nodes []*structs.ACLNodeIdentity, tps []*structs.ACLTemplatedPolicy) ([]Grant, error) {
	var out []Grant
	add := func(name string, vars *structs.ACLTemplatedPolicyVariables, dcs []string) error {
		t, ok := templates[name]
		if !ok {
			return fmt.Errorf("no such templated policy %q", name)
		}
		rules, err := t.Render(vars)
		if err != nil {
			return err
		}
		out = append(out, Grant{Rules: rules, Datacenters: dcs})
		return nil
	}
	for _, s := range svcs {
		if err := add(TemplateService, &structs.ACLTemplatedPolicyVariables{Name: s.ServiceName}, s.Datacenters); err != nil {
			return nil, err
		}
	}
	for _, n := range nodes {
		if err := add(TemplateNode, &structs.ACLTemplatedPolicyVariables{Name: n.NodeName}, []string{n.Datacenter}); err != nil {
			return nil, err
		}
	}
	for _, tp := range tps {
		if err := add(tp.TemplateName, tp.TemplateVariables, tp.Datacenters); err != nil {
			return nil, err
		}
	}
	return out, nil
}
