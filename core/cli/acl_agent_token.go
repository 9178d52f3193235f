package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/consul/api"
)

// agentTokenSetters maps the token types of `acl set-agent-token`,
// Consul's current names and the older ones, to the API call setting each.
var agentTokenSetters = map[string]func(*api.Agent, string) (*api.WriteMeta, error){
	"default":        func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateDefaultACLToken(t, nil) },
	"agent":          func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateAgentACLToken(t, nil) },
	"recovery":       func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateAgentRecoveryACLToken(t, nil) },
	"agent_recovery": func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateAgentRecoveryACLToken(t, nil) },
	"master":         func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateAgentRecoveryACLToken(t, nil) },
	"agent_master":   func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateAgentRecoveryACLToken(t, nil) },
	"replication":    func(a *api.Agent, t string) (*api.WriteMeta, error) { return a.UpdateReplicationACLToken(t, nil) },
}

// aclSetAgentTokenCommand is `beacon acl set-agent-token TYPE TOKEN`.
func aclSetAgentTokenCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("acl set-agent-token", "beacon acl set-agent-token [options] TYPE TOKEN", `
Sets one of the ACL tokens the agent uses: default (requests and DNS
queries without a token), agent (the agent's own catalog updates),
recovery (the agent's endpoints while no server answers) or replication.
TOKEN is the SecretID, @FILE reads it from a file and - from stdin. The
tokens are kept over restarts only with acl.enable_token_persistence.`, stderr)
	var hf httpFlags
	hf.register(fs)
	client, code := startClient(fs, args, &hf, 2)
	if client == nil {
		return code
	}
	if fs.NArg() != 2 {
		fmt.Fprintln(stderr, "Missing TYPE and TOKEN arguments")
		return 1
	}
	kind := fs.Arg(0)
	set, ok := agentTokenSetters[kind]
	if !ok {
		fmt.Fprintf(stderr, "Unknown token type %q (default, agent, recovery or replication)\n", kind)
		return 1
	}
	token, err := readRules(fs.Arg(1), os.Stdin)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if _, err := set(client.Agent(), strings.TrimSpace(token)); err != nil {
		fmt.Fprintf(stderr, "Failed to set ACL token %q: %v\n", kind, err)
		return 1
	}
	fmt.Fprintf(stdout, "ACL token %q set successfully\n", kind)
	return 0
}
