package cli

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/consul/api"
)

// readRules reads -rules: "@file", "-" (stdin) or the rules themselves.
func readRules(v string, stdin io.Reader) (string, error) {
	switch {
	case strings.HasPrefix(v, "@"):
		b, err := os.ReadFile(v[1:])
		if err != nil {
			return "", fmt.Errorf("Failed to read rules from %s: %v", v[1:], err)
		}
		return string(b), nil
	case v == "-":
		b, err := io.ReadAll(stdin)
		return string(b), err
	}
	return v, nil
}

// policyFlags are the fields of policy create and update.
type policyFlags struct {
	name, desc, rules *string
	dcs               stringList
}

func registerPolicyFlags(fs *flag.FlagSet) *policyFlags {
	p := &policyFlags{
		name:  fs.String("name", "", "The policy's name."),
		desc:  fs.String("description", "", "A description of the policy."),
		rules: fs.String("rules", "", "The rules: HCL or JSON text, @file to read them from a file, or - for stdin."),
	}
	fs.Var(&p.dcs, "valid-datacenter", "A datacenter the policy applies in (all when none); repeatable.")
	return p
}

func aclPolicyCreateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl policy create", "beacon acl policy create -name NAME [-rules RULES] [options]", `
Creates a policy.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	pf := registerPolicyFlags(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if *pf.name == "" {
		fmt.Fprintln(stderr, "Missing required '-name' flag")
		return 1
	}
	rules, err := readRules(*pf.rules, os.Stdin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	p, _, err := client.ACL().PolicyCreate(&api.ACLPolicy{Name: *pf.name, Description: *pf.desc, Rules: rules, Datacenters: pf.dcs}, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to create new policy: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, p, func() { writePolicy(stdout, p) }))
}

// findPolicy reads a policy by -id or -name.
func findPolicy(client *api.Client, id, name string) (*api.ACLPolicy, error) {
	switch {
	case id != "":
		p, _, err := client.ACL().PolicyRead(id, nil)
		return p, err
	case name != "":
		p, _, err := client.ACL().PolicyReadByName(name, nil)
		return p, err
	}
	return nil, fmt.Errorf("Must specify either the -id or -name parameters")
}

func aclPolicyReadCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl policy read", "beacon acl policy read [options] -id ID | -name NAME", `
Shows a policy.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	id := fs.String("id", "", "The policy's ID.")
	name := fs.String("name", "", "The policy's name.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	p, err := findPolicy(client, *id, *name)
	if err != nil {
		fmt.Fprintf(stderr, "Error reading policy: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, p, func() { writePolicy(stdout, p) }))
}

func aclPolicyUpdateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl policy update", "beacon acl policy update [options] -id ID", `
Changes a policy; fields not given keep their values.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	id := fs.String("id", "", "The policy's ID.")
	pf := registerPolicyFlags(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	p, err := findPolicy(client, *id, "")
	if err != nil {
		fmt.Fprintf(stderr, "Error when retrieving current policy: %v\n", err)
		return 1
	}
	if *pf.name != "" {
		p.Name = *pf.name
	}
	if *pf.desc != "" {
		p.Description = *pf.desc
	}
	if *pf.rules != "" {
		if p.Rules, err = readRules(*pf.rules, os.Stdin); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if len(pf.dcs) > 0 {
		p.Datacenters = pf.dcs
	}
	p, _, err = client.ACL().PolicyUpdate(p, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to update policy: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, p, func() { writePolicy(stdout, p) }))
}

func aclPolicyDeleteCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl policy delete", "beacon acl policy delete [options] -id ID | -name NAME", `
Deletes a policy; tokens linked to it lose the link.`, stderr)
	var hf httpFlags
	hf.register(fs)
	id := fs.String("id", "", "The policy's ID.")
	name := fs.String("name", "", "The policy's name.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	p, err := findPolicy(client, *id, *name)
	if err != nil {
		fmt.Fprintf(stderr, "Error deleting policy: %v\n", err)
		return 1
	}
	if _, err := client.ACL().PolicyDelete(p.ID, nil); err != nil {
		fmt.Fprintf(stderr, "Error deleting policy %q: %v\n", p.ID, err)
		return 1
	}
	fmt.Fprintf(stdout, "Policy %q deleted successfully\n", p.Name)
	return 0
}

func aclPolicyListCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl policy list", "beacon acl policy list [options]", `
Lists every policy.`, stderr)
	return aclList(fs, args, stdout, stderr, "policy", (*api.ACL).PolicyList, func(_ int, p *api.ACLPolicyListEntry) {
		fmt.Fprintf(stdout, "%s:\n   ID:           %s\n   Description:  %s\n   Datacenters:  %s\n",
			p.Name, p.ID, p.Description, strings.Join(p.Datacenters, ", "))
	})
}
