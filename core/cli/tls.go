package cli

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/beacon-sd/beacon/core/certs"
)

// tlsCommand is `beacon tls`: a private CA and agent certificates, so
// TLS can be turned on without openssl.
func tlsCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("tls", map[string]command{
		"ca":   {"Helpers for CAs", tlsCACommand},
		"cert": {"Helpers for certificates", tlsCertCommand},
	}, args, stdout, stderr)
}

func tlsCACommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("tls ca", map[string]command{
		"create": {"Create a new certificate authority", tlsCACreate},
	}, args, stdout, stderr)
}

func tlsCertCommand(args []string, stdout, stderr io.Writer) int {
	return runGroup("tls cert", map[string]command{
		"create": {"Create a new certificate", tlsCertCreate},
	}, args, stdout, stderr)
}

// tlsCACreate is `beacon tls ca create`.
func tlsCACreate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("tls ca create", "beacon tls ca create [options]", `
Creates a self-signed certificate authority for the agents' TLS in the
current directory: <domain>-agent-ca.pem and <domain>-agent-ca-key.pem.
Keep the key safe: whoever holds it can make server certificates.`, stderr)
	days := fs.Int("days", 1825, "Number of days the CA is valid for.")
	domain := fs.String("domain", "consul", "The cluster's DNS domain; with -name-constraint the CA signs only names under it.")
	constrain := fs.Bool("name-constraint", false, "Limit the CA to localhost, -domain and -additional-name-constraint with X.509 name constraints.")
	var more stringList
	fs.Var(&more, "additional-name-constraint", "Another DNS domain the CA may sign for; may be given more than once. Only with -name-constraint.")
	cn := fs.String("common-name", "", "Common name of the CA.")
	if code, ok := parseArgs(fs, args, 0); !ok {
		return code
	}
	if *days <= 0 {
		fmt.Fprintf(stderr, "-days %d: must be positive\n", *days)
		return 1
	}
	d := strings.TrimSuffix(*domain, ".")
	certFile, keyFile := d+"-agent-ca.pem", d+"-agent-ca-key.pem"
	for _, f := range []string{certFile, keyFile} {
		if _, err := os.Stat(f); err == nil {
			fmt.Fprintf(stderr, "==> CA file %s already exists\n", f)
			return 1
		}
	}
	certPEM, keyPEM, err := certs.NewCA(certs.CAOptions{Days: *days, Domain: d, NameConstraint: *constrain,
		AdditionalConstraints: more, CommonName: *cn})
	if err != nil {
		fmt.Fprintf(stderr, "==> Creating the CA failed: %v\n", err)
		return 1
	}
	return saveFiles(stdout, stderr, certFile, certPEM, keyFile, keyPEM)
}

// tlsCertCreate is `beacon tls cert create -server|-client|-cli`.
func tlsCertCreate(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("tls cert create", "beacon tls cert create -server|-client|-cli [options]", `
Creates a certificate signed by the CA of "beacon tls ca create" in the
current directory: <dc>-<kind>-<domain>-<n>.pem and its -key.pem, n
counting up past the files already there. A server certificate names
server.<dc>.<domain>, which verify_server_hostname checks; every
certificate names localhost and 127.0.0.1.`, stderr)
	server := fs.Bool("server", false, "Create a server certificate.")
	client := fs.Bool("client", false, "Create a client agent certificate.")
	cli := fs.Bool("cli", false, "Create a certificate for the command line (client authentication only).")
	dc := fs.String("dc", "dc1", "The datacenter the certificate is for.")
	domain := fs.String("domain", "consul", "The cluster's DNS domain.")
	node := fs.String("node", "", "For a server: also name <node>.server.<dc>.<domain>.")
	days := fs.Int("days", 365, "Number of days the certificate is valid for.")
	caFile := fs.String("ca", "#DOMAIN#-agent-ca.pem", "The CA certificate file.")
	keyFile := fs.String("key", "#DOMAIN#-agent-ca-key.pem", "The CA key file.")
	var dnsNames, ipAddrs stringList
	fs.Var(&dnsNames, "additional-dnsname", "Another DNS name for the certificate; may be given more than once.")
	fs.Var(&ipAddrs, "additional-ipaddress", "Another IP address for the certificate; may be given more than once.")
	if code, ok := parseArgs(fs, args, 0); !ok {
		return code
	}
	var kind string
	n := 0
	for k, set := range map[string]bool{certs.Server: *server, certs.Client: *client, certs.CLI: *cli} {
		if set {
			kind = k
			n++
		}
	}
	if n != 1 {
		fmt.Fprintln(stderr, "==> Please provide exactly one of -server, -client or -cli")
		return 1
	}
	if *days <= 0 {
		fmt.Fprintf(stderr, "-days %d: must be positive\n", *days)
		return 1
	}
	var ips []net.IP
	for _, s := range ipAddrs {
		ip := net.ParseIP(s)
		if ip == nil {
			fmt.Fprintf(stderr, "-additional-ipaddress %q: not an IP address\n", s)
			return 1
		}
		ips = append(ips, ip)
	}
	d := strings.TrimSuffix(*domain, ".")
	caPath := strings.ReplaceAll(*caFile, "#DOMAIN#", d)
	keyPath := strings.ReplaceAll(*keyFile, "#DOMAIN#", d)
	caPEM, err := os.ReadFile(caPath)
	if err != nil {
		fmt.Fprintf(stderr, "==> Reading the CA certificate (-ca): %v\n", err)
		return 1
	}
	caKey, err := os.ReadFile(keyPath)
	if err != nil {
		fmt.Fprintf(stderr, "==> Reading the CA key (-key): %v\n", err)
		return 1
	}
	if kind == certs.Server {
		fmt.Fprintln(stdout, `==> WARNING: A server certificate lets its holder act as a server:
    read all of the cluster's state, ACL tokens and keys included. Give it
    only to server hosts, and keep it as safe as the CA key.`)
	}
	fmt.Fprintf(stdout, "==> Using %s and %s\n", caPath, keyPath)
	certPEM, keyPEM, err := certs.NewCert(caPEM, caKey, certs.CertOptions{
		Kind: kind, Datacenter: *dc, Domain: d, Node: *node, Days: *days, DNSNames: dnsNames, IPs: ips,
	})
	if err != nil {
		fmt.Fprintf(stderr, "==> Creating the certificate failed: %v\n", err)
		return 1
	}
	prefix := *dc + "-" + kind + "-" + d
	for i := 0; ; i++ {
		cf := prefix + "-" + strconv.Itoa(i) + ".pem"
		kf := prefix + "-" + strconv.Itoa(i) + "-key.pem"
		if exists(cf) || exists(kf) {
			continue
		}
		return saveFiles(stdout, stderr, cf, certPEM, kf, keyPEM)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// saveFiles writes a certificate (readable by all) and its key (by the
// owner only), never over an existing file.
func saveFiles(stdout, stderr io.Writer, certFile string, certPEM []byte, keyFile string, keyPEM []byte) int {
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{certFile, certPEM, 0o644}, {keyFile, keyPEM, 0o600}} {
		if err := writeNew(f.name, f.data, f.mode); err != nil {
			fmt.Fprintf(stderr, "==> %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "==> Saved %s\n", f.name)
	}
	return 0
}

func writeNew(name string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
