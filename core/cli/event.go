package cli

import (
	"fmt"
	"io"
	"regexp"

	"github.com/hashicorp/consul/api"
)

// eventCommand is `beacon event -name NAME [filters] [payload]`: fires a
// user event to the agents of the datacenter and prints its ID.
func eventCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("event", "beacon event [options] [payload]", `
Fires a user event to every agent of the datacenter, over gossip. The event
needs a name; the payload is optional and should stay small (under 100
bytes). -node, -service and -tag are regular expressions: only agents whose
node name matches, and that run a matching service with a matching tag, keep
the event. Watches of type "event" see it.`, stderr)
	var hf httpFlags
	hf.register(fs)
	name := fs.String("name", "", "Name of the event.")
	node := fs.String("node", "", "Regular expression to filter on node names.")
	service := fs.String("service", "", "Regular expression to filter on service names.")
	tag := fs.String("tag", "", "Regular expression to filter on service tags. Must be used with -service.")
	if code, ok := parseArgs(fs, args, 1); !ok {
		return code
	}
	if *name == "" {
		fmt.Fprintln(stderr, "Event name must be specified (-name)")
		return 1
	}
	for _, f := range []struct{ what, re string }{{"node", *node}, {"service", *service}, {"tag", *tag}} {
		if _, err := regexp.Compile(f.re); err != nil {
			fmt.Fprintf(stderr, "Failed to compile %s filter regexp: %v\n", f.what, err)
			return 1
		}
	}
	if *tag != "" && *service == "" {
		fmt.Fprintln(stderr, "Cannot provide tag filter without service filter.")
		return 1
	}
	var payload []byte
	if fs.NArg() == 1 {
		payload = []byte(fs.Arg(0))
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	if _, err := client.Agent().NodeName(); err != nil {
		fmt.Fprintf(stderr, "Error querying the agent: %s\n", err)
		return 1
	}
	id, _, err := client.Event().Fire(&api.UserEvent{
		Name: *name, Payload: payload, NodeFilter: *node, ServiceFilter: *service, TagFilter: *tag,
	}, nil)
	if err != nil {
		fmt.Fprintf(stderr, "Error firing event: %s\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "Event ID: %s\n", id)
	return 0
}
