package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"
)

var aclMethodCommands = map[string]command{
	"create": {"Create an ACL auth method", aclMethodCreateCommand},
	"read":   {"Read an ACL auth method", aclMethodReadCommand},
	"update": {"Update an ACL auth method", aclMethodUpdateCommand},
	"delete": {"Delete an ACL auth method", aclMethodDeleteCommand},
	"list":   {"List ACL auth methods", aclMethodListCommand},
}

func aclMethodCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("acl auth-method", aclMethodCommands, args, stdout, stderr)
}

// readConfig reads -config: "@file", "-" (stdin) or JSON text.
func readConfig(v string) (map[string]interface{}, error) {
	text, err := readRules(v, os.Stdin)
	if err != nil {
		return nil, err
	}
	var cfg map[string]interface{}
	if err := json.Unmarshal([]byte(text), &cfg); err != nil {
		return nil, fmt.Errorf("Error parsing -config JSON: %v", err)
	}
	return cfg, nil
}

// methodFlags are the fields of auth method create and update.
type methodFlags struct {
	name, typ, display, desc, locality, config *string
	ttl                                        *time.Duration
}

func registerMethodFlags(fs interface {
	String(string, string, string) *string
	Duration(string, time.Duration, string) *time.Duration
}) *methodFlags {
	return &methodFlags{
		name:     fs.String("name", "", "The auth method's name."),
		typ:      fs.String("type", "", "The auth method's type: jwt."),
		display:  fs.String("display-name", "", "A name to show for the auth method."),
		desc:     fs.String("description", "", "A description of the auth method."),
		locality: fs.String("token-locality", "", "The kind of tokens its logins make: local (the default) or global."),
		config:   fs.String("config", "", "The configuration as JSON: the text, @file to read it from a file, or - for stdin."),
		ttl:      fs.Duration("max-token-ttl", 0, "How long the tokens its logins make last; forever by default."),
	}
}

func aclMethodCreateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl auth-method create", "beacon acl auth-method create -type jwt -name NAME -config CONFIG [options]", `
Creates an auth method: a way to trade a bearer token (a JWT) for an ACL
token, with what the method's binding rules grant.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	mf := registerMethodFlags(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	switch {
	case *mf.typ == "":
		fmt.Fprintln(stderr, "Missing required '-type' flag")
		return 1
	case *mf.name == "":
		fmt.Fprintln(stderr, "Missing required '-name' flag")
		return 1
	}
	m := &api.ACLAuthMethod{Name: *mf.name, Type: *mf.typ, DisplayName: *mf.display, Description: *mf.desc,
		TokenLocality: *mf.locality, MaxTokenTTL: *mf.ttl}
	if *mf.config != "" {
		cfg, err := readConfig(*mf.config)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		m.Config = cfg
	}
	m, _, err := client.ACL().AuthMethodCreate(m, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to create new auth method: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, m, func() { writeMethod(stdout, m) }))
}

func findMethod(client *api.Client, name string) (*api.ACLAuthMethod, error) {
	if name == "" {
		return nil, fmt.Errorf("Must specify the -name parameter")
	}
	m, _, err := client.ACL().AuthMethodRead(name, nil)
	if err == nil && m == nil {
		err = fmt.Errorf("No such auth method: %s", name)
	}
	return m, err
}

func aclMethodReadCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl auth-method read", "beacon acl auth-method read [options] -name NAME", `
Shows an auth method.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	name := fs.String("name", "", "The auth method's name.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	m, err := findMethod(client, *name)
	if err != nil {
		fmt.Fprintf(stderr, "Error reading auth method: %v\n", err)
		return 1
	}
	return report(stderr, printOut(stdout, format, m, func() { writeMethod(stdout, m) }))
}

func aclMethodUpdateCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl auth-method update", "beacon acl auth-method update [options] -name NAME", `
Changes an auth method; fields not given keep their values, and -config
replaces the configuration.`, stderr)
	var hf httpFlags
	hf.register(fs)
	format := formatFlag(fs)
	mf := registerMethodFlags(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	m, err := findMethod(client, *mf.name)
	if err != nil {
		fmt.Fprintf(stderr, "Error when retrieving current auth method: %v\n", err)
		return 1
	}
	if *mf.typ != "" {
		m.Type = *mf.typ
	}
	for _, f := range []struct{ to, from *string }{{&m.DisplayName, mf.display}, {&m.Description, mf.desc}, {&m.TokenLocality, mf.locality}} {
		if *f.from != "" {
			*f.to = *f.from
		}
	}
	if *mf.ttl != 0 {
		m.MaxTokenTTL = *mf.ttl
	}
	if *mf.config != "" {
		if m.Config, err = readConfig(*mf.config); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	m, _, err = client.ACL().AuthMethodUpdate(m, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Failed to update auth method %s: %v\n", *mf.name, err)
		return 1
	}
	return report(stderr, printOut(stdout, format, m, func() { writeMethod(stdout, m) }))
}

func aclMethodDeleteCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl auth-method delete", "beacon acl auth-method delete [options] -name NAME", `
Deletes an auth method with its binding rules and the tokens its logins made.`, stderr)
	var hf httpFlags
	hf.register(fs)
	name := fs.String("name", "", "The auth method's name.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if *name == "" {
		fmt.Fprintln(stderr, "Must specify the -name parameter")
		return 1
	}
	if _, err := client.ACL().AuthMethodDelete(*name, nil); err != nil {
		fmt.Fprintf(stderr, "Error deleting auth method %q: %v\n", *name, err)
		return 1
	}
	fmt.Fprintf(stdout, "Auth-method %q deleted successfully\n", *name)
	return 0
}

func aclMethodListCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl auth-method list", "beacon acl auth-method list [options]", `
Lists every auth method.`, stderr)
	return aclList(fs, args, stdout, stderr, "auth method", (*api.ACL).AuthMethodList, func(_ int, m *api.ACLAuthMethodListEntry) {
		fmt.Fprintf(stdout, "%s:\n   Type:         %s\n   Description:  %s\n", m.Name, m.Type, m.Description)
	})
}

func writeMethod(w io.Writer, m *api.ACLAuthMethod) {
	fmt.Fprintf(w, "Name:          %s\n", m.Name)
	fmt.Fprintf(w, "Type:          %s\n", m.Type)
	fmt.Fprintf(w, "Display Name:  %s\n", m.DisplayName)
	fmt.Fprintf(w, "Description:   %s\n", m.Description)
	if m.MaxTokenTTL > 0 {
		fmt.Fprintf(w, "MaxTokenTTL:   %s\n", m.MaxTokenTTL)
	}
	locality := m.TokenLocality
	if locality == "" {
		locality = "local"
	}
	fmt.Fprintf(w, "TokenLocality: %s\n", locality)
	b, _ := json.MarshalIndent(m.Config, "", "  ")
	fmt.Fprintf(w, "Config:\n%s\n", strings.TrimSpace(string(b)))
}
