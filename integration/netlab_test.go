package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// netLab is a set of hosts, each a network namespace with one address on
// a bridge that the test process reaches too. The names carry the test
// process's PID, so a later run removes what a killed run left.
type netLab struct {
	t      *testing.T
	bridge string
	hosts  []netHost
	prefix string // the /24's first three octets
}

// netHost is one namespace and its address.
type netHost struct{ ns, ip string }

const labPrefix = "bcn"

// newNetLab makes n hosts; it skips the test, saying why, where network
// namespaces cannot be made.
func newNetLab(t *testing.T, n int) *netLab {
	t.Helper()
	skipShort(t)
	removeStaleLabs()
	if out, err := exec.Command("ip", "netns", "add", fmt.Sprintf("%s-%d-probe", labPrefix, os.Getpid())).CombinedOutput(); err != nil {
		t.Skipf("SKIPPED: network namespaces cannot be made here (ip netns add: %v: %s); this test needs root and iproute2", err, strings.TrimSpace(string(out)))
	}
	run(t, "ip", "netns", "del", fmt.Sprintf("%s-%d-probe", labPrefix, os.Getpid()))
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("SKIPPED: nft (Debian package nftables) is not installed; it cuts the links between hosts")
	}
	pid := os.Getpid()
	l := &netLab{t: t, bridge: fmt.Sprintf("%sbr%d", labPrefix, pid),
		prefix: fmt.Sprintf("10.%d.%d", 200+pid%50, (pid/50)%250)}
	t.Cleanup(l.remove)
	run(t, "ip", "link", "add", l.bridge, "type", "bridge")
	run(t, "ip", "addr", "add", l.prefix+".254/24", "dev", l.bridge)
	run(t, "ip", "link", "set", l.bridge, "up")
	for i := 0; i < n; i++ {
		h := netHost{ns: fmt.Sprintf("%s-%d-%d", labPrefix, pid, i), ip: fmt.Sprintf("%s.%d", l.prefix, i+1)}
		veth := fmt.Sprintf("%sv%d-%d", labPrefix, pid, i)
		run(t, "ip", "netns", "add", h.ns)
		l.hosts = append(l.hosts, h)
		run(t, "ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", h.ns)
		run(t, "ip", "link", "set", veth, "master", l.bridge, "up")
		run(t, "ip", "-n", h.ns, "addr", "add", h.ip+"/24", "dev", "eth0")
		run(t, "ip", "-n", h.ns, "link", "set", "eth0", "up")
		run(t, "ip", "-n", h.ns, "link", "set", "lo", "up")
	}
	return l
}

// cut drops every packet between host i and the hosts listed, in both
// directions; the test process still reaches host i.
func (l *netLab) cut(i int, from []int) {
	var peers []string
	for _, j := range from {
		peers = append(peers, l.hosts[j].ip)
	}
	set := "{ " + strings.Join(peers, ", ") + " }"
	l.nft(i, fmt.Sprintf(`table inet cut {
	chain in { type filter hook input priority 0; ip saddr %s drop; }
	chain out { type filter hook output priority 0; ip daddr %s drop; }
}
`, set, set))
}

// cutStreams drops the TCP packets host i receives from host j: j's
// connections to i fail, its datagrams still arrive. heal removes it.
func (l *netLab) cutStreams(i, j int) {
	l.nft(i, fmt.Sprintf(`table inet cut {
	chain in { type filter hook input priority 0; ip saddr %s meta l4proto tcp drop; }
}
`, l.hosts[j].ip))
}

// nft loads rules into host i's namespace.
func (l *netLab) nft(i int, rules string) {
	cmd := exec.Command("ip", "netns", "exec", l.hosts[i].ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		l.t.Fatalf("nft rules on %s: %v: %s", l.hosts[i].ip, err, out)
	}
}

// heal removes host i's cut (either kind).
func (l *netLab) heal(i int) {
	run(l.t, "ip", "netns", "exec", l.hosts[i].ns, "nft", "delete", "table", "inet", "cut")
}

func (l *netLab) remove() {
	for _, h := range l.hosts {
		exec.Command("ip", "netns", "del", h.ns).Run()
	}
	exec.Command("ip", "link", "del", l.bridge).Run()
}

// removeStaleLabs removes the namespaces and bridges of test processes
// that are gone.
func removeStaleLabs() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if f := strings.Split(fields[0], "-"); len(f) >= 3 && f[0] == labPrefix && !alive(f[1]) {
			exec.Command("ip", "netns", "del", fields[0]).Run()
		}
	}
	out, _ = exec.Command("ip", "-o", "link", "show", "type", "bridge").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name := strings.TrimSuffix(f[1], ":")
		if pid, ok := strings.CutPrefix(name, labPrefix+"br"); ok && !alive(pid) {
			exec.Command("ip", "link", "del", name).Run()
		}
	}
}

// alive reports whether the process pid runs.
func alive(pid string) bool {
	n, err := strconv.Atoi(pid)
	return err == nil && syscall.Kill(n, 0) == nil
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}
