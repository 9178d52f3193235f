package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hashicorp/consul/api"
)

// loginCommand is `beacon login`: trades a bearer token for an ACL token
// and writes its secret to a file.
func loginCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("login", "beacon login -method NAME -bearer-token-file FILE -token-sink-file FILE [options]", `
Logs in through an auth method: sends the bearer token in
-bearer-token-file and writes the secret of the ACL token the cluster makes
for it to -token-sink-file.`, stderr)
	var hf httpFlags
	hf.register(fs)
	method := fs.String("method", "", "The auth method to log in with.")
	bearerFile := fs.String("bearer-token-file", "", "The file holding the bearer token (a JWT).")
	sink := fs.String("token-sink-file", "", "The file to write the new token's SecretID to.")
	meta := keyValueFlag{}
	fs.Var(meta, "meta", "Metadata for the new token's description, as key=value; repeatable.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	for flag, v := range map[string]string{"-method": *method, "-bearer-token-file": *bearerFile, "-token-sink-file": *sink} {
		if v == "" {
			fmt.Fprintf(stderr, "Missing required '%s' flag\n", flag)
			return 1
		}
	}
	b, err := os.ReadFile(*bearerFile)
	if err != nil {
		fmt.Fprintf(stderr, "Error reading the bearer token file: %v\n", err)
		return 1
	}
	bearer := strings.TrimSpace(string(b))
	if bearer == "" {
		fmt.Fprintf(stderr, "No bearer token found in %s\n", *bearerFile)
		return 1
	}
	tok, _, err := client.ACL().Login(&api.ACLLoginParams{AuthMethod: *method, BearerToken: bearer, Meta: meta}, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Error logging in: %v\n", err)
		return 1
	}
	if err := os.WriteFile(*sink, []byte(tok.SecretID), 0o600); err != nil {
		fmt.Fprintf(stderr, "Error writing the token to %s: %v\n", *sink, err)
		return 1
	}
	return 0
}

// logoutCommand is `beacon logout`: deletes the token of the request,
// which a login made.
func logoutCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("logout", "beacon logout [options]", `
Deletes the ACL token the command runs with (-token, -token-file or
CONSUL_HTTP_TOKEN), which must be one a login made.`, stderr)
	var hf httpFlags
	hf.register(fs)
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	if _, err := client.ACL().Logout(nil); err != nil {
		fmt.Fprintf(stderr, "Error destroying token: %v\n", err)
		return 1
	}
	return 0
}
