// Command bench measures `beacon template` against a large catalog: it
// starts `beacon agent -dev`, registers services × instances, and renders
// the seed nginx template (range services + service .Name) with -once and
// as a daemon, reporting time, requests, TCP connections, memory and the
// latency from a catalog change to the template's command.
//
//	go build -o bin/beacon ./cmd/beacon
//	go run ./template/bench -beacon bin/beacon
package main

import (
	"bufio"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/consul/api"
)

const nginxTemplate = `{{range services}} {{$name := .Name}} {{$service := service .Name}}
upstream {{$name}} {
zone upstream-{{$name}} 64k;
{{range $service}}server {{.Address}}:{{.Port}} max_fails=3 fail_timeout=60 weight=1;
{{else}}server 127.0.0.1:65535; # force a 502{{end}}
} {{end}}
server {
listen 80 default_server;
{{range services}} {{$name := .Name}}
location /{{$name}} {
proxy_pass http://{{$name}};
}
{{end}}
}
`

func main() {
	beacon := flag.String("beacon", "bin/beacon", "the beacon binary")
	services := flag.Int("services", 1000, "services to register")
	instances := flag.Int("instances", 3, "instances per service")
	runs := flag.Int("runs", 5, "-once runs")
	changes := flag.Int("changes", 30, "catalog changes timed in daemon mode")
	idle := flag.Duration("idle", 10*time.Second, "settling time before measuring the idle daemon")
	protocol := flag.String("protocol", "auto", "-consul-protocol of the renderer")
	flag.Parse()
	if err := run(*beacon, *services, *instances, *runs, *changes, *idle, *protocol); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(beacon string, services, instances, runs, changes int, idle time.Duration, protocol string) error {
	dir, err := os.MkdirTemp("", "beacon-template-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	addr, stop, err := startAgent(beacon, dir)
	if err != nil {
		return err
	}
	defer stop()
	client, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		return err
	}
	start := time.Now()
	if err := register(client, services, instances); err != nil {
		return err
	}
	fmt.Printf("catalog: %d services x %d instances registered in %s\n", services, instances, time.Since(start).Round(time.Millisecond))
	src := filepath.Join(dir, "nginx.ctmpl")
	if err := os.WriteFile(src, []byte(nginxTemplate), 0o644); err != nil {
		return err
	}
	if err := benchOnce(beacon, addr, src, dir, runs, protocol); err != nil {
		return err
	}
	return benchDaemon(beacon, addr, src, dir, client, changes, idle, protocol)
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startAgent(beacon, dir string) (string, func(), error) {
	port := freePort()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(beacon, "agent", "-dev", "-http-port", strconv.Itoa(port), "-dns-port", strconv.Itoa(freePort()),
		"-log-level", "warn")
	log, _ := os.Create(filepath.Join(dir, "agent.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("agent did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func register(c *api.Client, services, instances int) error {
	jobs := make(chan [2]int)
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				s, i := j[0], j[1]
				_, err := c.Catalog().Register(&api.CatalogRegistration{
					Node: fmt.Sprintf("node-%d", i), Address: fmt.Sprintf("10.0.%d.1", i),
					Service: &api.AgentService{ID: fmt.Sprintf("svc-%04d-%d", s, i), Service: fmt.Sprintf("svc-%04d", s),
						Port: 8000 + i, Tags: []string{"bench"}},
				}, nil)
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	for s := 0; s < services; s++ {
		for i := 0; i < instances; i++ {
			jobs <- [2]int{s, i}
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

var doneLine = regexp.MustCompile(`done: requests=(\d+) connections=(\d+) protocol=(\S+)`)

func benchOnce(beacon, addr, src, dir string, runs int, protocol string) error {
	var times []time.Duration
	var rss []int64
	var last string
	for i := 0; i < runs; i++ {
		dest := filepath.Join(dir, fmt.Sprintf("once-%d.conf", i))
		cmd := exec.Command(beacon, "template", "-consul-addr", addr, "-consul-protocol", protocol, "-once",
			"-log-level", "info", "-template", src+":"+dest)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("-once: %v\n%s", err, stderr.String())
		}
		times = append(times, time.Since(start))
		rss = append(rss, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
		for _, l := range strings.Split(stderr.String(), "\n") {
			if strings.Contains(l, "[WARN]") || strings.Contains(l, "[ERROR]") {
				fmt.Println("  -once run", i, "logged:", l)
			}
		}
		if m := doneLine.FindStringSubmatch(stderr.String()); m != nil {
			last = fmt.Sprintf("%s requests over %s connection(s), %s", m[1], m[2], m[3])
		}
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	sort.Slice(rss, func(i, j int) bool { return rss[i] < rss[j] })
	fmt.Printf("-once: median %s (min %s, max %s) over %d runs; peak RSS median %.1f MB (max %.1f MB); %s\n",
		times[len(times)/2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond),
		runs, float64(rss[len(rss)/2])/1024, float64(rss[len(rss)-1])/1024, last)
	return nil
}

func benchDaemon(beacon, addr, src, dir string, client *api.Client, changes int, idle time.Duration, protocol string) error {
	dest, runs := filepath.Join(dir, "daemon.conf"), filepath.Join(dir, "runs")
	cmd := exec.Command(beacon, "template", "-consul-addr", addr, "-consul-protocol", protocol, "-log-level", "info",
		"-template", src+":"+dest+":date +%s%N >> "+runs)
	stderr, _ := os.Create(filepath.Join(dir, "daemon.log"))
	cmd.Stderr = stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	if err := waitLines(runs, 1, 60*time.Second); err != nil {
		return fmt.Errorf("daemon first render: %v", err)
	}
	fmt.Printf("daemon: first render and command after %s\n", time.Since(start).Round(time.Millisecond))
	time.Sleep(idle)
	before := requests(cmd.Process.Pid, dir)
	st := dump(cmd.Process.Pid, dir)
	fmt.Printf("daemon idle: RSS %.1f MB, %d TCP connections to the API, %s watches; %s\n",
		rssMB(cmd.Process.Pid), conns(cmd.Process.Pid, addr), st[1], st[3])
	var lat []time.Duration
	for i := 0; i < changes; i++ {
		n := lines(runs)
		t0 := time.Now()
		_, err := client.Catalog().Register(&api.CatalogRegistration{
			Node: "node-new", Address: "10.9.0.1",
			Service: &api.AgentService{ID: fmt.Sprintf("new-%d", i), Service: fmt.Sprintf("svc-%04d", i*7%1000), Port: 9000 + i},
		}, nil)
		if err != nil {
			return err
		}
		if err := waitLines(runs, n+1, 10*time.Second); err != nil {
			return fmt.Errorf("change %d: %v", i, err)
		}
		ts, err := lastStamp(runs)
		if err != nil {
			return err
		}
		lat = append(lat, ts.Sub(t0))
		time.Sleep(100 * time.Millisecond)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		fmt.Printf("daemon: catalog change -> command start over %d changes: p50 %s, p90 %s, max %s\n",
			len(lat), lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)*9/10].Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))
	}
	after := requests(cmd.Process.Pid, dir)
	fmt.Printf("daemon after changes: RSS %.1f MB, %d TCP connections, %d requests during the idle measurement and changes\n",
		rssMB(cmd.Process.Pid), conns(cmd.Process.Pid, addr), after-before)
	return nil
}

func lines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

func waitLines(path string, n int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for lines(path) < n {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s has %d lines after %s, want %d", path, lines(path), within, n)
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

func lastStamp(path string) (time.Time, error) {
	b, _ := os.ReadFile(path)
	ls := strings.Split(strings.TrimSpace(string(b)), "\n")
	ns, err := strconv.ParseInt(ls[len(ls)-1], 10, 64)
	return time.Unix(0, ns), err
}

func rssMB(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if strings.HasPrefix(s.Text(), "VmRSS:") {
			kb, _ := strconv.Atoi(strings.Fields(s.Text())[1])
			return float64(kb) / 1024
		}
	}
	return 0
}

// conns counts the process's established TCP connections to addr.
func conns(pid int, addr string) int {
	_, portStr, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portStr)
	inodes := map[string]bool{}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	n := 0
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(table)
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "01" || !inodes[f[9]] {
				continue
			}
			remote := f[2]
			if p, err := strconv.ParseInt(remote[strings.LastIndex(remote, ":")+1:], 16, 32); err == nil && int(p) == port {
				n++
			}
		}
	}
	return n
}

var statusLine = regexp.MustCompile(`(\d+) watches, (\d+) requests[^\n]*\n\s*memory: ([^\n]*)`)

// dump asks the daemon for its status (SIGUSR1) and returns the new part
// of its log.
func dump(pid int, dir string) []string {
	logPath := filepath.Join(dir, "daemon.log")
	before, _ := os.ReadFile(logPath)
	syscall.Kill(pid, syscall.SIGUSR1)
	time.Sleep(300 * time.Millisecond)
	after, _ := os.ReadFile(logPath)
	return statusLine.FindStringSubmatch(string(after[len(before):]))
}

func requests(pid int, dir string) int {
	if m := dump(pid, dir); m != nil {
		n, _ := strconv.Atoi(m[2])
		return n
	}
	return -1
}
