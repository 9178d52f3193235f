package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/consul/api"
)

var aclCommands = map[string]command{
	"bootstrap":       {"Bootstrap ACLs", aclBootstrapCommand},
	"token":           {"Manage ACL tokens", aclTokenCommand},
	"policy":          {"Manage ACL policies", aclPolicyCommand},
	"role":            {"Manage ACL roles", aclRoleCommand},
	"auth-method":     {"Manage ACL auth methods", aclMethodCommand},
	"binding-rule":    {"Manage ACL binding rules", aclRuleCommand},
	"set-agent-token": {"Set an ACL token the agent uses", aclSetAgentTokenCommand},
}

var aclTokenCommands = map[string]command{
	"create": {"Create an ACL token", aclTokenCreateCommand},
	"read":   {"Read an ACL token", aclTokenReadCommand},
	"update": {"Update an ACL token", aclTokenUpdateCommand},
	"delete": {"Delete an ACL token", aclTokenDeleteCommand},
	"list":   {"List ACL tokens", aclTokenListCommand},
	"clone":  {"Clone an ACL token", aclTokenCloneCommand},
}

var aclPolicyCommands = map[string]command{
	"create": {"Create an ACL policy", aclPolicyCreateCommand},
	"read":   {"Read an ACL policy", aclPolicyReadCommand},
	"update": {"Update an ACL policy", aclPolicyUpdateCommand},
	"delete": {"Delete an ACL policy", aclPolicyDeleteCommand},
	"list":   {"List ACL policies", aclPolicyListCommand},
}

// aclCommand is `beacon acl <bootstrap|token|policy|role|auth-method|binding-rule|set-agent-token>`.
func aclCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("acl", aclCommands, args, stdout, stderr)
}

func aclTokenCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("acl token", aclTokenCommands, args, stdout, stderr)
}

func aclPolicyCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("acl policy", aclPolicyCommands, args, stdout, stderr)
}

// outputFormat is -format of the acl commands, checked when parsed so a
// bad value stops a command before it changes anything.
type outputFormat string

func (f *outputFormat) String() string { return string(*f) }

func (f *outputFormat) Set(s string) error {
	if s != "pretty" && s != "json" {
		return fmt.Errorf("want pretty or json")
	}
	*f = outputFormat(s)
	return nil
}

func formatFlag(fs *flag.FlagSet) *outputFormat {
	f := outputFormat("pretty")
	fs.Var(&f, "format", "Output format: pretty or json.")
	return &f
}

// printOut writes v as JSON, or with pretty.
// aclList is what every `beacon acl <kind> list` does once its flag set
// has its own flags: parse, fetch the list, and print it as JSON or with
// item for each entry (i counts from 0). what names the list in errors.
func aclList[T any](fs *flag.FlagSet, args []string, stdout, stderr io.Writer, what string,
	fetch func(*api.ACL, *api.QueryOptions) ([]T, *api.QueryMeta, error), item func(i int, v T)) int {
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	list, _, err := fetch(client.ACL(), hf.queryOptions())
	if err != nil {
		fmt.Fprintf(stderr, "Failed to retrieve the %s list: %v\n", what, err)
		return 1
	}
	return report(stderr, printOut(stdout, format, list, func() {
		for i, v := range list {
			item(i, v)
		}
	}))
}

// blankBetween prints the blank line that separates listed entries.
func blankBetween(w io.Writer, i int) {
	if i > 0 {
		fmt.Fprintln(w)
	}
}

func printOut(w io.Writer, format *outputFormat, v interface{}, pretty func()) error {
	if *format != "json" {
		pretty()
		return nil
	}
	b, err := json.MarshalIndent(v, "", "    ")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, string(b))
	return nil
}

func writeToken(w io.Writer, t *api.ACLToken) {
	fmt.Fprintf(w, "AccessorID:       %s\n", t.AccessorID)
	fmt.Fprintf(w, "SecretID:         %s\n", t.SecretID)
	fmt.Fprintf(w, "Description:      %s\n", t.Description)
	fmt.Fprintf(w, "Local:            %t\n", t.Local)
	fmt.Fprintf(w, "Create Time:      %v\n", t.CreateTime)
	if t.ExpirationTime != nil && !t.ExpirationTime.IsZero() {
		fmt.Fprintf(w, "Expiration Time:  %v\n", *t.ExpirationTime)
	}
	if t.AuthMethod != "" {
		fmt.Fprintf(w, "Auth Method:      %s\n", t.AuthMethod)
	}
	writeGrants(w, t.Policies, t.Roles, t.ServiceIdentities, t.NodeIdentities, t.TemplatedPolicies)
}

func writePolicy(w io.Writer, p *api.ACLPolicy) {
	fmt.Fprintf(w, "ID:           %s\n", p.ID)
	fmt.Fprintf(w, "Name:         %s\n", p.Name)
	fmt.Fprintf(w, "Description:  %s\n", p.Description)
	fmt.Fprintf(w, "Datacenters:  %s\n", strings.Join(p.Datacenters, ", "))
	fmt.Fprintf(w, "Rules:\n%s\n", p.Rules)
}

// aclBootstrapCommand is `beacon acl bootstrap`.
func aclBootstrapCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl bootstrap", "beacon acl bootstrap [options]", `
Creates the first management token of the cluster and prints it. It works
once: afterwards the cluster answers that bootstrap is no longer allowed.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	tok, _, err := client.ACL().Bootstrap()
	if err != nil {
		fmt.Fprintf(stderr, "Failed ACL bootstrapping: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, tok, func() { writeToken(stdout, tok) }))
}

func report(stderr io.Writer, err error) int {
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// policyLinks collects -policy-id and -policy-name.
type policyLinks struct{ ids, names stringList }

func (p *policyLinks) register(fs *flag.FlagSet) {
	fs.Var(&p.ids, "policy-id", "ID of a policy to link the token to; repeatable.")
	fs.Var(&p.names, "policy-name", "Name of a policy to link the token to; repeatable.")
}

func (p *policyLinks) links() []*api.ACLTokenPolicyLink {
	var out []*api.ACLTokenPolicyLink
	for _, id := range p.ids {
		out = append(out, &api.ACLTokenPolicyLink{ID: id})
	}
	for _, n := range p.names {
		out = append(out, &api.ACLTokenPolicyLink{Name: n})
	}
	return out
}

func aclTokenCreateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl token create", "beacon acl token create [options]", `
Creates a token linked to the given policies.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	var links policyLinks
	links.register(fs)
	desc := fs.String("description", "", "A description of the token.")
	accessor := fs.String("accessor", "", "Create the token with this AccessorID instead of a random one.")
	secret := fs.String("secret", "", "Create the token with this SecretID instead of a random one.")
	local := fs.Bool("local", false, "Create a token local to this datacenter.")
	ttl := fs.Duration("expires-ttl", 0, "How long the token is valid; it never expires by default.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	tok, _, err := client.ACL().TokenCreate(&api.ACLToken{Description: *desc, AccessorID: *accessor, SecretID: *secret,
		Local: *local, ExpirationTTL: *ttl, Policies: links.links()}, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to create new token: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, tok, func() { writeToken(stdout, tok) }))
}

// tokenID reads -id, or -self, of token commands.
type tokenID struct {
	id   *string
	self *bool
}

func registerTokenID(fs *flag.FlagSet, withSelf bool) tokenID {
	t := tokenID{id: fs.String("id", "", "The AccessorID of the token (a unique prefix is not enough).")}
	if withSelf {
		t.self = fs.Bool("self", false, "Use the token the request is made with.")
	} else {
		t.self = new(bool)
	}
	fs.StringVar(t.id, "accessor-id", "", "Same as -id.")
	return t
}

func aclTokenReadCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl token read", "beacon acl token read [options] -id ACCESSOR | -self", `
Shows a token.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	id := registerTokenID(fs, true)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	var tok *api.ACLToken
	var err error
	switch {
	case *id.self:
		tok, _, err = client.ACL().TokenReadSelf(nil)
	case *id.id != "":
		tok, _, err = client.ACL().TokenRead(*id.id, nil)
	default:
		fmt.Fprintln(stderr, "Must specify the -id parameter, or -self")
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "Error reading token: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, tok, func() { writeToken(stdout, tok) }))
}

func aclTokenUpdateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl token update", "beacon acl token update [options] -id ACCESSOR", `
Changes a token's description or policies. Without -merge-policies the
given policies replace the token's.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	id := registerTokenID(fs, false)
	var links policyLinks
	links.register(fs)
	desc := fs.String("description", "", "A new description.")
	merge := fs.Bool("merge-policies", false, "Add the given policies to the token's instead of replacing them.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if *id.id == "" {
		fmt.Fprintln(stderr, "Cannot update a token without specifying the -id parameter")
		return 1
	}
	tok, _, err := client.ACL().TokenRead(*id.id, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Error when retrieving current token: %v\n", err)
		return 1
	}
	if *desc != "" {
		tok.Description = *desc
	}
	if l := links.links(); *merge {
		tok.Policies = append(tok.Policies, l...)
	} else if len(l) > 0 {
		tok.Policies = l
	}
	tok, _, err = client.ACL().TokenUpdate(tok, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to update token %s: %v\n", *id.id, err)
		return 1
	}
	return report(stderr, printOut(stdout, format, tok, func() { writeToken(stdout, tok) }))
}

func aclTokenCloneCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl token clone", "beacon acl token clone [options] -id ACCESSOR", `
Creates a new token with the policies of another.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	id := registerTokenID(fs, false)
	desc := fs.String("description", "", "The description of the new token.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	tok, _, err := client.ACL().TokenClone(*id.id, *desc, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Error cloning token: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, tok, func() { writeToken(stdout, tok) }))
}

func aclTokenDeleteCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl token delete", "beacon acl token delete [options] -id ACCESSOR", `
Deletes a token.`, stderr)
	var hf httpFlags
	hf.register(fs)
	id := registerTokenID(fs, false)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if *id.id == "" {
		fmt.Fprintln(stderr, "Must specify the -id parameter")
		return 1
	}
	if _, err := client.ACL().TokenDelete(*id.id, nil); err != nil {
		fmt.Fprintf(stderr, "Error deleting token %q: %v\n", *id.id, err)
		return 1
	}
	fmt.Fprintf(stdout, "Token %q deleted successfully\n", *id.id)
	return 0
}

func aclTokenListCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl token list", "beacon acl token list [options]", `
Lists every token.`, stderr)
	return aclList(fs, args, stdout, stderr, "token", (*api.ACL).TokenList, func(i int, e *api.ACLTokenListEntry) {
		blankBetween(stdout, i)
		writeToken(stdout, &api.ACLToken{AccessorID: e.AccessorID, SecretID: e.SecretID, Description: e.Description,
			Local: e.Local, CreateTime: e.CreateTime, ExpirationTime: e.ExpirationTime, Policies: e.Policies, Roles: e.Roles,
			ServiceIdentities: e.ServiceIdentities, NodeIdentities: e.NodeIdentities, TemplatedPolicies: e.TemplatedPolicies, AuthMethod: e.AuthMethod})
	})
}
