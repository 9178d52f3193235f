package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/consul/api"
)

var aclRoleCommands = map[string]command{
	"create": {"Create an ACL role", aclRoleCreateCommand},
	"read":   {"Read an ACL role", aclRoleReadCommand},
	"update": {"Update an ACL role", aclRoleUpdateCommand},
	"delete": {"Delete an ACL role", aclRoleDeleteCommand},
	"list":   {"List ACL roles", aclRoleListCommand},
}

func aclRoleCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("acl role", aclRoleCommands, args, stdout, stderr)
}

// grantFlags are what a role is given: policies, identities and
// templated policies.
type grantFlags struct {
	policies       policyLinks
	svcs, nodes    stringList
	templates, tvs stringList
}

func (g *grantFlags) register(fs *flag.FlagSet) {
	g.policies.register(fs)
	fs.Var(&g.svcs, "service-identity", "A service identity, as NAME or NAME:DC1,DC2; repeatable.")
	fs.Var(&g.nodes, "node-identity", "A node identity, as NAME:DATACENTER; repeatable.")
	fs.Var(&g.templates, "templated-policy", "The name of a templated policy, such as builtin/service; repeatable.")
	fs.Var(&g.tvs, "var", "A variable of the templated policies, as name:VALUE.")
}

// parse reads the identity and template flags.
func (g *grantFlags) parse() ([]*api.ACLServiceIdentity, []*api.ACLNodeIdentity, []*api.ACLTemplatedPolicy, error) {
	var svcs []*api.ACLServiceIdentity
	for _, s := range g.svcs {
		name, dcs, _ := strings.Cut(s, ":")
		si := &api.ACLServiceIdentity{ServiceName: name}
		if dcs != "" {
			si.Datacenters = strings.Split(dcs, ",")
		}
		svcs = append(svcs, si)
	}
	var nodes []*api.ACLNodeIdentity
	for _, n := range g.nodes {
		name, dc, ok := strings.Cut(n, ":")
		if !ok || name == "" || dc == "" {
			return nil, nil, nil, fmt.Errorf("Malformed -node-identity argument %q: want NAME:DATACENTER", n)
		}
		nodes = append(nodes, &api.ACLNodeIdentity{NodeName: name, Datacenter: dc})
	}
	var vars *api.ACLTemplatedPolicyVariables
	for _, v := range g.tvs {
		k, val, ok := strings.Cut(v, ":")
		if !ok || k != "name" {
			return nil, nil, nil, fmt.Errorf("Malformed -var argument %q: want name:VALUE", v)
		}
		vars = &api.ACLTemplatedPolicyVariables{Name: val}
	}
	var tps []*api.ACLTemplatedPolicy
	for _, t := range g.templates {
		tps = append(tps, &api.ACLTemplatedPolicy{TemplateName: t, TemplateVariables: vars})
	}
	return svcs, nodes, tps, nil
}

func aclRoleCreateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl role create", "beacon acl role create -name NAME [options]", `
Creates a role: a named set of policies, service and node identities and
templated policies that tokens can link to.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	name := fs.String("name", "", "The role's name.")
	desc := fs.String("description", "", "A description of the role.")
	var g grantFlags
	g.register(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if *name == "" {
		fmt.Fprintln(stderr, "Missing required '-name' flag")
		return 1
	}
	svcs, nodes, tps, err := g.parse()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	r, _, err := client.ACL().RoleCreate(&api.ACLRole{Name: *name, Description: *desc, Policies: g.policies.links(),
		ServiceIdentities: svcs, NodeIdentities: nodes, TemplatedPolicies: tps}, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to create new role: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, r, func() { writeRole(stdout, r) }))
}

// findRole reads a role by -id or -name.
func findRole(client *api.Client, id, name string) (*api.ACLRole, error) {
	var r *api.ACLRole
	var err error
	switch {
	case id != "":
		r, _, err = client.ACL().RoleRead(id, nil)
	case name != "":
		r, _, err = client.ACL().RoleReadByName(name, nil)
	default:
		return nil, fmt.Errorf("Must specify either the -id or -name parameters")
	}
	if err == nil && r == nil {
		err = fmt.Errorf("No such role: %s%s", id, name)
	}
	return r, err
}

func aclRoleReadCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl role read", "beacon acl role read [options] -id ID | -name NAME", `
Shows a role.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	id := fs.String("id", "", "The role's ID.")
	name := fs.String("name", "", "The role's name.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	r, err := findRole(client, *id, *name)
	if err != nil {
		fmt.Fprintf(stderr, "Error reading role: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, r, func() { writeRole(stdout, r) }))
}

func aclRoleUpdateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl role update", "beacon acl role update [options] -id ID", `
Changes a role. What is given is added to the role's grants; with
-no-merge it replaces them.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	id := fs.String("id", "", "The role's ID.")
	name := fs.String("name", "", "A new name.")
	desc := fs.String("description", "", "A new description.")
	noMerge := fs.Bool("no-merge", false, "Replace the role's policies, identities and templated policies with those given.")
	var g grantFlags
	g.register(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if *id == "" {
		fmt.Fprintln(stderr, "Cannot update a role without specifying the -id parameter")
		return 1
	}
	r, err := findRole(client, *id, "")
	if err != nil {
		fmt.Fprintf(stderr, "Error when retrieving current role: %v\n", err)
		return 1
	}
	svcs, nodes, tps, err := g.parse()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *name != "" {
		r.Name = *name
	}
	if *desc != "" {
		r.Description = *desc
	}
	if *noMerge {
		r.Policies, r.ServiceIdentities, r.NodeIdentities, r.TemplatedPolicies = nil, nil, nil, nil
	}
	r.Policies = append(r.Policies, g.policies.links()...)
	r.ServiceIdentities = append(r.ServiceIdentities, svcs...)
	r.NodeIdentities = append(r.NodeIdentities, nodes...)
	r.TemplatedPolicies = append(r.TemplatedPolicies, tps...)
	r, _, err = client.ACL().RoleUpdate(r, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to update role %s: %v\n", *id, err)
		return 1
	}
	return report(stderr, printOut(stdout, format, r, func() { writeRole(stdout, r) }))
}

func aclRoleDeleteCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl role delete", "beacon acl role delete [options] -id ID | -name NAME", `
Deletes a role; tokens linked to it lose the link.`, stderr)
	var hf httpFlags
	hf.register(fs)
	id := fs.String("id", "", "The role's ID.")
	name := fs.String("name", "", "The role's name.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	r, err := findRole(client, *id, *name)
	if err != nil {
		fmt.Fprintf(stderr, "Error deleting role: %v\n", err)
		return 1
	}
	if _, err := client.ACL().RoleDelete(r.ID, nil); err != nil {
		fmt.Fprintf(stderr, "Error deleting role %q: %v\n", r.ID, err)
		return 1
	}
	fmt.Fprintf(stdout, "Role %q deleted successfully\n", r.ID)
	return 0
}

func aclRoleListCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl role list", "beacon acl role list [options]", `
Lists every role.`, stderr)
	return aclList(fs, args, stdout, stderr, "role", (*api.ACL).RoleList, func(i int, r *api.ACLRole) {
		blankBetween(stdout, i)
		writeRole(stdout, r)
	})
}

func writeRole(w io.Writer, r *api.ACLRole) {
	fmt.Fprintf(w, "ID:           %s\n", r.ID)
	fmt.Fprintf(w, "Name:         %s\n", r.Name)
	fmt.Fprintf(w, "Description:  %s\n", r.Description)
	writeGrants(w, r.Policies, nil, r.ServiceIdentities, r.NodeIdentities, r.TemplatedPolicies)
}

// writeGrants shows what a token or role is given.
func writeGrants(w io.Writer, policies, roles []*api.ACLLink, svcs []*api.ACLServiceIdentity, nodes []*api.ACLNodeIdentity, tps []*api.ACLTemplatedPolicy) {
	if len(policies) > 0 {
		fmt.Fprintln(w, "Policies:")
		for _, p := range policies {
			fmt.Fprintf(w, "   %s - %s\n", p.ID, p.Name)
		}
	}
	if len(roles) > 0 {
		fmt.Fprintln(w, "Roles:")
		for _, r := range roles {
			fmt.Fprintf(w, "   %s - %s\n", r.ID, r.Name)
		}
	}
	if len(svcs) > 0 {
		fmt.Fprintln(w, "Service Identities:")
		for _, s := range svcs {
			dcs := "all"
			if len(s.Datacenters) > 0 {
				dcs = strings.Join(s.Datacenters, ", ")
			}
			fmt.Fprintf(w, "   %s (Datacenters: %s)\n", s.ServiceName, dcs)
		}
	}
	if len(nodes) > 0 {
		fmt.Fprintln(w, "Node Identities:")
		for _, n := range nodes {
			fmt.Fprintf(w, "   %s (Datacenter: %s)\n", n.NodeName, n.Datacenter)
		}
	}
	if len(tps) > 0 {
		fmt.Fprintln(w, "Templated Policies:")
		for _, t := range tps {
			fmt.Fprintf(w, "   %s\n", t.TemplateName)
			if t.TemplateVariables != nil && t.TemplateVariables.Name != "" {
				fmt.Fprintf(w, "      Name: %s\n", t.TemplateVariables.Name)
			}
		}
	}
}
