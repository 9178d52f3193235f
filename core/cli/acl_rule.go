package cli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hashicorp/consul/api"
)

var aclRuleCommands = map[string]command{
	"create": {"Create an ACL binding rule", aclRuleCreateCommand},
	"read":   {"Read an ACL binding rule", aclRuleReadCommand},
	"update": {"Update an ACL binding rule", aclRuleUpdateCommand},
	"delete": {"Delete an ACL binding rule", aclRuleDeleteCommand},
	"list":   {"List ACL binding rules", aclRuleListCommand},
}

func aclRuleCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("acl binding-rule", aclRuleCommands, args, stdout, stderr)
}

// ruleFlags are the fields of binding rule create and update.
type ruleFlags struct {
	method, desc, selector, bindType, bindName *string
	bindVars                                   stringList
}

func registerRuleFlags(fs *flag.FlagSet) *ruleFlags {
	r := &ruleFlags{
		method:   fs.String("method", "", "The auth method the rule belongs to."),
		desc:     fs.String("description", "", "A description of the rule."),
		selector: fs.String("selector", "", "Which logins the rule applies to, as a filter expression over value.<claim> and list.<claim>; all when empty."),
		bindType: fs.String("bind-type", "", "What the rule grants: service, node, role, policy or templated-policy."),
		bindName: fs.String("bind-name", "", "The name of what is granted; ${value.<claim>} is replaced by the login's claim."),
	}
	fs.Var(&r.bindVars, "bind-vars", "A variable of a templated-policy rule, as name=VALUE.")
	return r
}

func (r *ruleFlags) vars() (*api.ACLTemplatedPolicyVariables, error) {
	var out *api.ACLTemplatedPolicyVariables
	for _, v := range r.bindVars {
		k, val, ok := strings.Cut(v, "=")
		if !ok || k != "name" {
			return nil, fmt.Errorf("Malformed -bind-vars argument %q: want name=VALUE", v)
		}
		out = &api.ACLTemplatedPolicyVariables{Name: val}
	}
	return out, nil
}

func aclRuleCreateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl binding-rule create", "beacon acl binding-rule create -method NAME -bind-type TYPE -bind-name NAME [options]", `
Creates a binding rule: what a login through an auth method grants when
the rule's selector matches the login's claims.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	rf := registerRuleFlags(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	for flag, v := range map[string]string{"-method": *rf.method, "-bind-type": *rf.bindType, "-bind-name": *rf.bindName} {
		if v == "" {
			fmt.Fprintf(stderr, "Missing required '%s' flag\n", flag)
			return 1
		}
	}
	vars, err := rf.vars()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	r, _, err := client.ACL().BindingRuleCreate(&api.ACLBindingRule{AuthMethod: *rf.method, Description: *rf.desc, Selector: *rf.selector,
		BindType: api.BindingRuleBindType(*rf.bindType), BindName: *rf.bindName, BindVars: vars}, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to create new binding rule: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, r, func() { writeRule(stdout, r) }))
}

func findRule(client *api.Client, id string) (*api.ACLBindingRule, error) {
	if id == "" {
		return nil, fmt.Errorf("Must specify the -id parameter")
	}
	r, _, err := client.ACL().BindingRuleRead(id, nil)
	if err == nil && r == nil {
		err = fmt.Errorf("No such binding rule: %s", id)
	}
	return r, err
}

func aclRuleReadCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl binding-rule read", "beacon acl binding-rule read [options] -id ID", `
Shows a binding rule.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	id := fs.String("id", "", "The binding rule's ID.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	r, err := findRule(client, *id)
	if err != nil {
		fmt.Fprintf(stderr, "Error reading binding rule: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, r, func() { writeRule(stdout, r) }))
}

func aclRuleUpdateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl binding-rule update", "beacon acl binding-rule update [options] -id ID", `
Changes a binding rule; fields not given keep their values.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	id := fs.String("id", "", "The binding rule's ID.")
	rf := registerRuleFlags(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	r, err := findRule(client, *id)
	if err != nil {
		fmt.Fprintf(stderr, "Error when retrieving current binding rule: %v\n", err)
		return 1
	}
	for _, f := range []struct{ to, from *string }{{&r.AuthMethod, rf.method}, {&r.Description, rf.desc}, {&r.Selector, rf.selector}, {&r.BindName, rf.bindName}} {
		if *f.from != "" {
			*f.to = *f.from
		}
	}
	if *rf.bindType != "" {
		r.BindType = api.BindingRuleBindType(*rf.bindType)
	}
	if len(rf.bindVars) > 0 {
		if r.BindVars, err = rf.vars(); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	r, _, err = client.ACL().BindingRuleUpdate(r, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to update binding rule %s: %v\n", *id, err)
		return 1
	}
	return report(stderr, printOut(stdout, format, r, func() { writeRule(stdout, r) }))
}

func aclRuleDeleteCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl binding-rule delete", "beacon acl binding-rule delete [options] -id ID", `
Deletes a binding rule.`, stderr)
	var hf httpFlags
	hf.register(fs)
	id := fs.String("id", "", "The binding rule's ID.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if *id == "" {
		fmt.Fprintln(stderr, "Must specify the -id parameter")
		return 1
	}
	if _, err := client.ACL().BindingRuleDelete(*id, nil); err != nil {
		fmt.Fprintf(stderr, "Error deleting binding rule %q: %v\n", *id, err)
		return 1
	}
	fmt.Fprintf(stdout, "Binding rule %q deleted successfully\n", *id)
	return 0
}

func aclRuleListCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl binding-rule list", "beacon acl binding-rule list [options] [-method NAME]", `
Lists binding rules, all or those of one auth method.`, stderr)
	method := fs.String("method", "", "List only the rules of this auth method.")
	fetch := func(a *api.ACL, q *api.QueryOptions) ([]*api.ACLBindingRule, *api.QueryMeta, error) {
		return a.BindingRuleList(*method, q)
	}
	return aclList(fs, args, stdout, stderr, "binding rule", fetch, func(i int, r *api.ACLBindingRule) {
		blankBetween(stdout, i)
		writeRule(stdout, r)
	})
}

func writeRule(w io.Writer, r *api.ACLBindingRule) {
	fmt.Fprintf(w, "ID:           %s\n", r.ID)
	fmt.Fprintf(w, "AuthMethod:   %s\n", r.AuthMethod)
	fmt.Fprintf(w, "Description:  %s\n", r.Description)
	fmt.Fprintf(w, "BindType:     %s\n", r.BindType)
	fmt.Fprintf(w, "BindName:     %s\n", r.BindName)
	if r.BindVars != nil {
		fmt.Fprintf(w, "BindVars:     name=%s\n", r.BindVars.Name)
	}
	fmt.Fprintf(w, "Selector:     %s\n", r.Selector)
}
