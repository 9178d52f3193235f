package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/consul/api"
	"github.com/hashicorp/hcl"

	"github.com/beacon-sd/beacon/core/decode"
	"github.com/beacon-sd/beacon/core/structs"
)

var servicesCommands = map[string]command{
	"register":   {"Registers services with the local agent", servicesRegisterCommand},
	"deregister": {"Deregisters services from the local agent", servicesDeregisterCommand},
}

// servicesCommand is `beacon services <register|deregister>`.
func servicesCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("services", servicesCommands, args, stdout, stderr)
}

// servicesRegisterCommand is `beacon services register [options] [FILE...]`.
func servicesRegisterCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("services register", "beacon services register [options] [FILE...]", `
Registers services with the local agent, from service definition files (JSON,
or HCL when named *.hcl) holding a "service" or "services" block, or from the
flags for a single service.`, stderr)
	var hf httpFlags
	hf.register(fs)
	var def structs.ServiceDefinition
	fs.StringVar(&def.Name, "name", "", "Name of the service to register.")
	fs.StringVar(&def.ID, "id", "", "ID of the service; defaults to its name.")
	fs.StringVar(&def.Address, "address", "", "Address of the service; defaults to the node's.")
	fs.IntVar(&def.Port, "port", 0, "Port of the service.")
	var tags stringList
	fs.Var(&tags, "tag", "Tag to add to the service; repeatable.")
	meta := keyValueFlag{}
	fs.Var(meta, "meta", "Metadata as `key=value`; repeatable.")
	tagged := keyValueFlag{}
	fs.Var(tagged, "tagged-address", "Tagged address as `key=address[:port]`; repeatable.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	var defs []*structs.ServiceDefinition
	if fs.NArg() > 0 {
		usedFlags := false
		for _, n := range []string{"name", "id", "address", "port", "tag", "meta", "tagged-address"} {
			usedFlags = usedFlags || flagWasSet(fs, n)
		}
		if usedFlags {
			fmt.Fprintln(stderr, "Error! Give service definition files or service flags, not both")
			return 1
		}
		for _, path := range fs.Args() {
			fileDefs, err := loadServiceFile(path)
			if err != nil {
				fmt.Fprintf(stderr, "Error! %s\n", err)
				return 1
			}
			defs = append(defs, fileDefs...)
		}
	} else {
		if def.Name == "" {
			fmt.Fprintln(stderr, "Error! Missing -name flag or FILE argument")
			return 1
		}
		def.Tags = tags
		if len(meta) > 0 {
			def.Meta = meta
		}
		addrs, err := parseTaggedAddresses(tagged)
		if err != nil {
			fmt.Fprintf(stderr, "Error! %s\n", err)
			return 1
		}
		def.TaggedAddresses = addrs
		if err := def.Validate(); err != nil {
			fmt.Fprintf(stderr, "Error! %s\n", err)
			return 1
		}
		defs = append(defs, &def)
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	for _, d := range defs {
		reg, warnings := toRegistration(d)
		for _, w := range warnings {
			fmt.Fprintf(stderr, "Warning: %s\n", w)
		}
		if err := client.Agent().ServiceRegisterOpts(reg, api.ServiceRegisterOpts{Token: d.Token}); err != nil {
			fmt.Fprintf(stderr, "Error registering service %q: %s\n", d.Name, err)
			return 1
		}
		fmt.Fprintf(stdout, "Registered service: %s\n", d.Name)
	}
	return 0
}

// servicesDeregisterCommand is `beacon services deregister [options] [FILE...]`.
func servicesDeregisterCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("services deregister", "beacon services deregister [options] [FILE...]", `
Deregisters from the local agent the services defined in the given files, or
the one named by -id.`, stderr)
	var hf httpFlags
	hf.register(fs)
	id := fs.String("id", "", "ID of the service to deregister.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	var ids []string
	switch {
	case *id != "" && fs.NArg() > 0:
		fmt.Fprintln(stderr, "Error! Give service definition files or -id, not both")
		return 1
	case *id != "":
		ids = []string{*id}
	case fs.NArg() == 0:
		fmt.Fprintln(stderr, "Error! Missing -id flag or FILE argument")
		return 1
	default:
		for _, path := range fs.Args() {
			defs, err := loadServiceFile(path)
			if err != nil {
				fmt.Fprintf(stderr, "Error! %s\n", err)
				return 1
			}
			for _, d := range defs {
				if d.ID != "" {
					ids = append(ids, d.ID)
				} else {
					ids = append(ids, d.Name)
				}
			}
		}
	}
	client := hf.connect(stderr)
	if client == nil {
		return 1
	}
	for _, sid := range ids {
		if err := client.Agent().ServiceDeregister(sid); err != nil {
			fmt.Fprintf(stderr, "Error deregistering service %q: %s\n", sid, err)
			return 1
		}
		fmt.Fprintf(stdout, "Deregistered service: %s\n", sid)
	}
	return 0
}

// serviceFile is the top level of a service definition file.
type serviceFile struct {
	Service  *structs.ServiceDefinition
	Services []*structs.ServiceDefinition
}

// loadServiceFile reads the services defined in a JSON or HCL file; errors
// name the file.
func loadServiceFile(path string) ([]*structs.ServiceDefinition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	defs, err := parseServiceFile(data, strings.EqualFold(filepath.Ext(path), ".hcl"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return defs, nil
}

// parseServiceFile decodes a service definition file's contents, strictly:
// an unknown key is an error naming it.
func parseServiceFile(data []byte, isHCL bool) ([]*structs.ServiceDefinition, error) {
	var raw interface{}
	if isHCL {
		if err := hcl.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("parsing HCL: %w", err)
		}
	} else if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parsing JSON: %w", err)
	}
	var f serviceFile
	if err := decode.Value(raw, &f, true); err != nil {
		return nil, err
	}
	var defs []*structs.ServiceDefinition
	if f.Service != nil {
		defs = append(defs, f.Service)
	}
	for _, d := range f.Services {
		if d != nil {
			defs = append(defs, d)
		}
	}
	if len(defs) == 0 {
		return nil, errors.New(`no "service" or "services" definition`)
	}
	for _, d := range defs {
		if err := d.Validate(); err != nil {
			return nil, err
		}
	}
	return defs, nil
}

// parseTaggedAddresses reads -tagged-address values ("lan=10.0.0.1:80").
func parseTaggedAddresses(m map[string]string) (map[string]structs.ServiceAddress, error) {
	if len(m) == 0 {
		return nil, nil
	}
	out := make(map[string]structs.ServiceAddress, len(m))
	for k, v := range m {
		addr := structs.ServiceAddress{Address: v}
		if host, port, err := net.SplitHostPort(v); err == nil {
			p, err := strconv.Atoi(port)
			if err != nil || p < 0 || p > 65535 {
				return nil, fmt.Errorf("tagged address %s: invalid port %q", k, port)
			}
			addr = structs.ServiceAddress{Address: host, Port: p}
		}
		out[k] = addr
	}
	return out, nil
}

// toRegistration converts a definition into the API's registration body.
// Fields the API client cannot carry are reported as warnings.
func toRegistration(d *structs.ServiceDefinition) (*api.AgentServiceRegistration, []string) {
	var warnings []string
	reg := &api.AgentServiceRegistration{
		Kind: api.ServiceKind(d.Kind), ID: d.ID, Name: d.Name, Tags: d.Tags,
		Port: d.Port, Address: d.Address, Meta: d.Meta,
		EnableTagOverride: d.EnableTagOverride,
	}
	if len(d.TaggedAddresses) > 0 {
		reg.TaggedAddresses = make(map[string]api.ServiceAddress, len(d.TaggedAddresses))
		for k, a := range d.TaggedAddresses {
			reg.TaggedAddresses[k] = api.ServiceAddress{Address: a.Address, Port: a.Port}
		}
	}
	if d.Weights != nil {
		reg.Weights = &api.AgentWeights{Passing: d.Weights.Passing, Warning: d.Weights.Warning}
	}
	if d.Connect != nil || d.Proxy != nil {
		warnings = append(warnings, fmt.Sprintf("service %q: connect and proxy settings are ignored", d.Name))
	}
	if d.Check != nil {
		c, w := toCheck(d.Name, d.Check)
		reg.Check = c
		warnings = append(warnings, w...)
	}
	for _, cd := range d.Checks {
		if cd == nil {
			continue
		}
		c, w := toCheck(d.Name, cd)
		reg.Checks = append(reg.Checks, c)
		warnings = append(warnings, w...)
	}
	return reg, warnings
}

// toCheck converts a check definition of service svc.
func toCheck(svc string, c *structs.CheckDefinition) (*api.AgentServiceCheck, []string) {
	dur := func(d structs.Duration) string {
		if d <= 0 {
			return ""
		}
		return d.D().String()
	}
	args := c.ScriptArgs
	if len(args) == 0 && c.Script != "" {
		args = []string{"/bin/sh", "-c", c.Script}
	}
	out := &api.AgentServiceCheck{
		CheckID: c.CheckID, Name: c.Name, Notes: c.Notes, Status: c.Status,
		Args: args, DockerContainerID: c.DockerContainerID, Shell: c.Shell,
		Interval: dur(c.Interval), Timeout: dur(c.Timeout), TTL: dur(c.TTL),
		HTTP: c.HTTP, Header: c.Header, Method: c.Method, Body: c.Body,
		TCP: c.TCP, TCPUseTLS: c.TCPUseTLS, UDP: c.UDP,
		TLSServerName: c.TLSServerName, TLSSkipVerify: c.TLSSkipVerify,
		GRPC: c.GRPC, GRPCUseTLS: c.GRPCUseTLS,
		H2PING: c.H2PING, H2PingUseTLS: c.H2PingUseTLS,
		AliasNode: c.AliasNode, AliasService: c.AliasService,
		SuccessBeforePassing:           c.SuccessBeforePassing,
		FailuresBeforeWarning:          c.FailuresBeforeWarning,
		FailuresBeforeCritical:         c.FailuresBeforeCritical,
		DeregisterCriticalServiceAfter: dur(c.DeregisterCriticalServiceAfter),
	}
	var warnings []string
	dropped := map[string]bool{
		"disable_redirects": c.DisableRedirects,
		"os_service":        c.OSService != "",
		"output_max_size":   c.OutputMaxSize != 0,
	}
	for _, name := range []string{"disable_redirects", "os_service", "output_max_size"} {
		if dropped[name] {
			warnings = append(warnings, fmt.Sprintf("service %q: check field %s is not sent by services register", svc, name))
		}
	}
	return out, warnings
}
