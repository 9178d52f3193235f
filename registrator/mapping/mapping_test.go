package mapping

import (
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/beacon-sd/beacon/registrator/service"
)

// ctr describes a container the way `docker run` would make it.
type ctr struct {
	name    string            // without the leading slash; default "web1"
	image   string            // default "nginx"
	env     []string          // "KEY=value"
	labels  map[string]string // container labels
	expose  []string          // exposed only: "80/tcp"
	publish map[string]string // "80/tcp" → "hostIP:hostPort[,hostIP:hostPort]" (hostIP may be empty)
	nets    map[string]string // network name → container IP; default bridge 172.17.0.2
	netMode string            // "host", "mynet", ...; default "default"
	health  string            // Docker health state
}

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func (c ctr) inspect() *container.InspectResponse {
	if c.name == "" {
		c.name = "web1"
	}
	if c.image == "" {
		c.image = "nginx"
	}
	if c.netMode == "" {
		c.netMode = "default"
	}
	if c.nets == nil && c.netMode != "host" {
		c.nets = map[string]string{"bridge": "172.17.0.2"}
	}
	info := &container.InspectResponse{
		ContainerJSONBase: &container.ContainerJSONBase{
			ID: testID, Name: "/" + c.name,
			State:      &container.State{Running: true, Status: "running"},
			HostConfig: &container.HostConfig{NetworkMode: container.NetworkMode(c.netMode), PortBindings: nat.PortMap{}},
		},
		Config: &container.Config{Image: c.image, Env: c.env, Labels: c.labels, ExposedPorts: nat.PortSet{}},
		NetworkSettings: &container.NetworkSettings{
			NetworkSettingsBase: container.NetworkSettingsBase{Ports: nat.PortMap{}},
			Networks:            map[string]*network.EndpointSettings{},
		},
	}
	if c.health != "" {
		info.State.Health = &container.Health{Status: container.HealthStatus(c.health)}
	}
	for _, p := range c.expose {
		info.Config.ExposedPorts[nat.Port(p)] = struct{}{}
		if c.netMode != "host" {
			info.NetworkSettings.Ports[nat.Port(p)] = nil
		}
	}
	for p, list := range c.publish {
		info.Config.ExposedPorts[nat.Port(p)] = struct{}{}
		for _, hp := range strings.Split(list, ",") {
			i := strings.LastIndexByte(hp, ':')
			b := nat.PortBinding{HostIP: hp[:i], HostPort: hp[i+1:]}
			info.HostConfig.PortBindings[nat.Port(p)] = append(info.HostConfig.PortBindings[nat.Port(p)], b)
			if c.netMode != "host" {
				info.NetworkSettings.Ports[nat.Port(p)] = append(info.NetworkSettings.Ports[nat.Port(p)], b)
			}
		}
	}
	for n, ip := range c.nets {
		info.NetworkSettings.Networks[n] = &network.EndpointSettings{IPAddress: ip}
	}
	return info
}

// want is what a test checks of a service; Meta leaves out the owner keys.
type want struct {
	ID, Name, IP string
	Port         int
	Tags         []string
	Meta         map[string]string
	Check        *service.Check
	Health       string
}

func project(s *service.Service) want {
	meta := map[string]string{}
	for k, v := range s.Meta {
		if k != service.MetaHost && k != service.MetaContainer {
			meta[k] = v
		}
	}
	return want{ID: s.ID, Name: s.Name, IP: s.IP, Port: s.Port, Tags: s.Tags, Meta: meta, Check: s.Check, Health: s.DockerHealth}
}

// w is a service with no tags, meta or check.
func w(id, name, ip string, port int) want {
	return want{ID: id, Name: name, IP: ip, Port: port, Tags: []string{}, Meta: map[string]string{}}
}

func (x want) tags(t ...string) want      { x.Tags = t; return x }
func (x want) meta(kv ...string) want     { x.Meta = pairs(kv); return x }
func (x want) check(c service.Check) want { x.Check = &c; return x }
func (x want) health(h string) want       { x.Health = h; return x }
func pairs(kv []string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestMapServices(t *testing.T) {
	web := func(env ...string) ctr {
		return ctr{env: env, publish: map[string]string{"80/tcp": "127.0.0.1:8080"}}
	}
	two := func(env ...string) ctr {
		return ctr{env: env, publish: map[string]string{"80/tcp": "127.0.0.1:8080", "443/tcp": "127.0.0.1:8443"}}
	}
	http := service.Check{Kind: service.CheckHTTP, Path: "/health", Interval: "10s"}
	cases := []struct {
		name string
		c    ctr
		opt  Options
		want []want
		// problems lists the keys expected among the problems.
		problems []string
		// note is a substring expected in one of the notes.
		note string
	}{
		{name: "defaults: image name, host:container:port ID, published address",
			c:    web(),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080)}},
		{name: "SERVICE_NAME, SERVICE_TAGS and SERVICE_ID (seed 003)",
			c:    web("SERVICE_NAME=nginx-test", "SERVICE_TAGS=calico", "SERVICE_ID=nginx-test-1"),
			want: []want{w("nginx-test-1", "nginx-test", "127.0.0.1", 8080).tags("calico")}},
		{name: "SERVICE_TAG is read as a tag list too",
			c:    web("SERVICE_TAG=calico"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).tags("calico")}},
		{name: "tags are split on commas, trimmed, with \\, kept as a comma",
			c:    web(`SERVICE_TAGS=a, b ,,c\,d`),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).tags("a", "b", "c,d")}},
		{name: "-tags are added to every service, repeats dropped",
			c:    web("SERVICE_TAGS=prod,x"),
			opt:  Options{Tags: []string{"x", "forced"}},
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).tags("prod", "x", "forced")}},
		{name: "label wins over env var",
			c:    ctr{env: []string{"SERVICE_NAME=fromenv"}, labels: map[string]string{"SERVICE_NAME": "fromlabel"}, publish: map[string]string{"80/tcp": "127.0.0.1:8080"}},
			want: []want{w("h1:web1:80", "fromlabel", "127.0.0.1", 8080)}},
		{name: "labels alone work",
			c:    ctr{labels: map[string]string{"SERVICE_NAME": "db", "SERVICE_TAGS": "master,backups", "SERVICE_REGION": "us2"}, publish: map[string]string{"6379/tcp": ":10000"}},
			want: []want{w("h1:web1:6379", "db", "", 10000).tags("master", "backups").meta("region", "us2")}},
		{name: "several ports: image name plus port, one service each",
			c: two(),
			want: []want{
				w("h1:web1:80", "nginx-80", "127.0.0.1", 8080),
				w("h1:web1:443", "nginx-443", "127.0.0.1", 8443)}},
		{name: "several ports: SERVICE_NAME also gets the port suffix",
			c: two("SERVICE_NAME=www"),
			want: []want{
				w("h1:web1:80", "www-80", "127.0.0.1", 8080),
				w("h1:web1:443", "www-443", "127.0.0.1", 8443)}},
		{name: "SERVICE_<port>_NAME, _ID, _TAGS and metadata per port win",
			c: two("SERVICE_443_NAME=https", "SERVICE_443_ID=https.12345", "SERVICE_443_SNI=enabled",
				"SERVICE_80_NAME=http", "SERVICE_TAGS=www", "SERVICE_80_TAGS=plain"),
			want: []want{
				w("h1:web1:80", "http", "127.0.0.1", 8080).tags("plain"),
				w("https.12345", "https", "127.0.0.1", 8443).tags("www").meta("sni", "enabled")}},
		{name: "a port key wins whatever the order of the keys",
			c:    web("SERVICE_80_NAME=byport", "SERVICE_NAME=general"),
			want: []want{w("h1:web1:80", "byport", "127.0.0.1", 8080)}},
		{name: "one SERVICE_ID on several ports stays unique per port",
			c: two("SERVICE_ID=app"),
			want: []want{
				w("app:80", "nginx-80", "127.0.0.1", 8080),
				w("app:443", "nginx-443", "127.0.0.1", 8443)},
			note: "applies to several ports"},
		{name: "UDP port: :udp in the ID and a udp tag",
			c:    ctr{publish: map[string]string{"53/udp": "127.0.0.1:5353"}, env: []string{"SERVICE_NAME=dns", "SERVICE_TAGS=a"}},
			want: []want{w("h1:web1:53:udp", "dns", "127.0.0.1", 5353).tags("a", "udp")}},
		{name: "TCP and UDP on the same port",
			c: ctr{publish: map[string]string{"53/udp": "127.0.0.1:5353", "53/tcp": "127.0.0.1:5353"}},
			want: []want{
				w("h1:web1:53", "nginx-53", "127.0.0.1", 5353),
				w("h1:web1:53:udp", "nginx-53", "127.0.0.1", 5353).tags("udp")}},
		{name: "SERVICE_IGNORE drops the container",
			c: web("SERVICE_IGNORE=true"), note: "container ignored"},
		{name: "SERVICE_IGNORE=false does not",
			c:    web("SERVICE_IGNORE=false"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080)}},
		{name: "SERVICE_<port>_IGNORE drops one port",
			c:    two("SERVICE_443_IGNORE=1"),
			want: []want{w("h1:web1:80", "nginx-80", "127.0.0.1", 8080)},
			note: "port 443/tcp ignored"},
		{name: "-explicit: no SERVICE_NAME, no service",
			c: web(), opt: Options{Explicit: true}, note: "-explicit"},
		{name: "-explicit: SERVICE_NAME registers",
			c: web("SERVICE_NAME=x"), opt: Options{Explicit: true},
			want: []want{w("h1:web1:80", "x", "127.0.0.1", 8080)}},
		{name: "-explicit: SERVICE_<port>_NAME registers that port",
			c: two("SERVICE_80_NAME=x"), opt: Options{Explicit: true},
			want: []want{w("h1:web1:80", "x", "127.0.0.1", 8080)}},
		{name: "-require-label without the label",
			c: web(), opt: Options{RequireLabel: true}, note: "SERVICE_REGISTER"},
		{name: "-require-label with the label",
			c:    ctr{labels: map[string]string{"SERVICE_REGISTER": "true"}, publish: map[string]string{"80/tcp": "127.0.0.1:8080"}},
			opt:  Options{RequireLabel: true},
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080)}},
		{name: "other keys become metadata; SERVICE_META_ prefix dropped",
			c:    web("SERVICE_REGION=us-east", "SERVICE_META_TEAM=core", "SERVICE_VERSION=1.2"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).meta("region", "us-east", "team", "core", "version", "1.2")}},
		{name: "an invalid meta key is dropped, the service kept",
			c:    ctr{labels: map[string]string{"SERVICE_a.b": "x"}, publish: map[string]string{"80/tcp": "127.0.0.1:8080"}},
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080)},
			note: "not a valid meta key"},
		{name: "exposed but not published: left out",
			c: ctr{expose: []string{"80/tcp"}}, note: "not published"},
		{name: "published on all addresses: the node's address",
			c:    ctr{publish: map[string]string{"80/tcp": "0.0.0.0:8080"}},
			want: []want{w("h1:web1:80", "nginx", "", 8080)}},
		{name: "-ip forces the address",
			c: ctr{publish: map[string]string{"80/tcp": "0.0.0.0:8080"}}, opt: Options{HostIP: "10.1.2.3"},
			want: []want{w("h1:web1:80", "nginx", "10.1.2.3", 8080)}},
		{name: "-internal: container address and exposed port, unpublished ports too",
			c: ctr{expose: []string{"9000/tcp"}, publish: map[string]string{"80/tcp": "127.0.0.1:8080"}}, opt: Options{Internal: true, HostIP: "10.9.9.9"},
			want: []want{
				w("h1:web1:80", "nginx-80", "172.17.0.2", 80),
				w("h1:web1:9000", "nginx-9000", "172.17.0.2", 9000)}},
		{name: "-internal, several networks: the one it was started on, logged",
			c:    ctr{expose: []string{"80/tcp"}, netMode: "front", nets: map[string]string{"back": "10.0.2.5", "front": "10.0.1.5"}},
			opt:  Options{Internal: true},
			want: []want{w("h1:web1:80", "nginx", "10.0.1.5", 80)},
			note: `network "front", the network it was started on`},
		{name: "-internal, several networks, SERVICE_NETWORK picks",
			c:    ctr{expose: []string{"80/tcp"}, netMode: "front", env: []string{"SERVICE_NETWORK=back"}, nets: map[string]string{"back": "10.0.2.5", "front": "10.0.1.5"}},
			opt:  Options{Internal: true},
			want: []want{w("h1:web1:80", "nginx", "10.0.2.5", 80)},
			note: "named by SERVICE_NETWORK"},
		{name: "-internal, SERVICE_<port>_NETWORK picks per port",
			c:    ctr{expose: []string{"80/tcp"}, env: []string{"SERVICE_NETWORK=front", "SERVICE_80_NETWORK=back"}, nets: map[string]string{"back": "10.0.2.5", "front": "10.0.1.5"}},
			opt:  Options{Internal: true},
			want: []want{w("h1:web1:80", "nginx", "10.0.2.5", 80)}},
		{name: "-internal, SERVICE_NETWORK names a network the container is not on",
			c:        ctr{expose: []string{"80/tcp"}, env: []string{"SERVICE_NETWORK=nope"}},
			opt:      Options{Internal: true},
			problems: []string{"SERVICE_NETWORK"}},
		{name: "-internal, no network at all",
			c:        ctr{expose: []string{"80/tcp"}, netMode: "none", nets: map[string]string{}},
			opt:      Options{Internal: true},
			problems: []string{"-internal"}},
		{name: "host network: -p ports count as published on the same port",
			c:    ctr{netMode: "host", publish: map[string]string{"8080/tcp": ":8080"}, expose: []string{"9999/tcp"}},
			want: []want{w("h1:web1:8080", "nginx", "", 8080)}},
		{name: "host network with -ip",
			c: ctr{netMode: "host", publish: map[string]string{"8080/tcp": ":8080"}}, opt: Options{HostIP: "10.1.1.1"},
			want: []want{w("h1:web1:8080", "nginx", "10.1.1.1", 8080)}},
		{name: "host network with -internal: exposed ports at -ip",
			c: ctr{netMode: "host", expose: []string{"9999/tcp"}}, opt: Options{Internal: true, HostIP: "10.1.1.1"},
			want: []want{w("h1:web1:9999", "nginx", "10.1.1.1", 9999)}},
		{name: "-useIpFromLabel",
			c:    ctr{labels: map[string]string{"calico.ip": "10.233.49.254/32"}, publish: map[string]string{"80/tcp": "127.0.0.1:8080"}},
			opt:  Options{UseIPFromLabel: "calico.ip"},
			want: []want{w("h1:web1:80", "nginx", "10.233.49.254", 8080)}},
		{name: "-useIpFromLabel, label missing: default address, logged",
			c: web(), opt: Options{UseIPFromLabel: "calico.ip"},
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080)},
			note: `label "calico.ip" not set`},
		{name: "-useIpFromLabel, label not an address",
			c:        ctr{labels: map[string]string{"calico.ip": "nope"}, publish: map[string]string{"80/tcp": "127.0.0.1:8080"}},
			opt:      Options{UseIPFromLabel: "calico.ip"},
			problems: []string{"calico.ip"}},
		{name: "IPv4 and IPv6 bindings of one port: one service, the IPv4 one",
			c:    ctr{publish: map[string]string{"80/tcp": "::1:8080,127.0.0.1:8080"}},
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080)}},
		{name: "image name without registry, path, tag or digest",
			c:    ctr{image: "registry.local:5000/team/api:1.2@sha256:abcd", publish: map[string]string{"80/tcp": "127.0.0.1:8080"}},
			want: []want{w("h1:web1:80", "api", "127.0.0.1", 8080)}},
		{name: "started from an image ID: the container name",
			c:    ctr{image: "sha256:0123456789abcdef0123", publish: map[string]string{"80/tcp": "127.0.0.1:8080"}},
			want: []want{w("h1:web1:80", "web1", "127.0.0.1", 8080)}},
		{name: "malformed port key skips the container",
			c:        web("SERVICE_80x_NAME=a", "SERVICE_NAME=b"),
			problems: []string{"SERVICE_80x_NAME"}, note: "container skipped"},
		{name: "port out of range skips the container",
			c:        web("SERVICE_70000_NAME=a"),
			problems: []string{"SERVICE_70000_NAME"}},
		{name: "port key with nothing after it skips the container",
			c:        web("SERVICE_80_=a"),
			problems: []string{"SERVICE_80_"}},
		{name: "a key for a port the container lacks is logged and ignored",
			c:    web("SERVICE_8081_NAME=a"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080)},
			note: "SERVICE_8081_NAME ignored"},
		{name: "Docker HEALTHCHECK state is carried",
			c:    ctr{health: "starting", publish: map[string]string{"80/tcp": "127.0.0.1:8080"}},
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).health(service.HealthStarting)}},

		// Checks.
		{name: "SERVICE_CHECK_HTTP with default interval",
			c:    web("SERVICE_CHECK_HTTP=/health"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).check(http)}},
		{name: "HTTP check path without a slash",
			c:    web("SERVICE_CHECK_HTTP=health"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).check(http)}},
		{name: "SERVICE_CHECK_HTTPS with interval, timeout, deregister after, initial status, TLS skip, method",
			c: web("SERVICE_CHECK_HTTPS=/h", "SERVICE_CHECK_INTERVAL=15s", "SERVICE_CHECK_TIMEOUT=1s",
				"SERVICE_CHECK_DEREGISTER_AFTER=1m", "SERVICE_CHECK_INITIAL_STATUS=Passing",
				"SERVICE_CHECK_TLS_SKIP_VERIFY=true", "SERVICE_CHECK_METHOD=head"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).check(service.Check{
				Kind: service.CheckHTTPS, Path: "/h", Interval: "15s", Timeout: "1s", DeregisterAfter: "1m0s",
				InitialStatus: "passing", TLSSkipVerify: true, Method: "HEAD"})}},
		{name: "SERVICE_CHECK_TCP=true",
			c: web("SERVICE_CHECK_TCP=true", "SERVICE_CHECK_TIMEOUT=3s"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).check(service.Check{
				Kind: service.CheckTCP, Interval: "10s", Timeout: "3s"})}},
		{name: "SERVICE_CHECK_TCP=false asks for nothing",
			c:    web("SERVICE_CHECK_TCP=false"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080)}},
		{name: "SERVICE_CHECK_SCRIPT keeps its placeholders for the registry",
			c: web("SERVICE_CHECK_SCRIPT=nc $SERVICE_IP $SERVICE_PORT | grep OK"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).check(service.Check{
				Kind: service.CheckScript, Path: "nc $SERVICE_IP $SERVICE_PORT | grep OK", Interval: "10s"})}},
		{name: "SERVICE_CHECK_DOCKER with its shell",
			c: web("SERVICE_CHECK_DOCKER=pgrep httpd", "SERVICE_CHECK_SHELL=/bin/ash"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).check(service.Check{
				Kind: service.CheckDocker, Path: "pgrep httpd", Interval: "10s", Shell: "/bin/ash"})}},
		{name: "SERVICE_CHECK_TTL has no interval",
			c: web("SERVICE_CHECK_TTL=30s"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).check(service.Check{
				Kind: service.CheckTTL, TTL: "30s"})}},
		{name: "several checks: the first by precedence, the rest logged",
			c:    web("SERVICE_CHECK_TCP=true", "SERVICE_CHECK_HTTP=/health"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080).check(http)},
			note: "SERVICE_CHECK_TCP ignored"},
		{name: "per-port check forms",
			c: two("SERVICE_80_CHECK_HTTP=/health", "SERVICE_443_CHECK_TCP=true", "SERVICE_443_CHECK_INTERVAL=5s"),
			want: []want{
				w("h1:web1:80", "nginx-80", "127.0.0.1", 8080).check(http),
				w("h1:web1:443", "nginx-443", "127.0.0.1", 8443).check(service.Check{Kind: service.CheckTCP, Interval: "5s"})}},
		{name: "unknown check key is logged",
			c:    web("SERVICE_CHECK_FOO=1"),
			want: []want{w("h1:web1:80", "nginx", "127.0.0.1", 8080)},
			note: "SERVICE_CHECK_FOO ignored"},
		{name: "malformed interval skips the port",
			c:        web("SERVICE_CHECK_HTTP=/h", "SERVICE_CHECK_INTERVAL=15"),
			problems: []string{"SERVICE_CHECK_INTERVAL"}},
		{name: "malformed TTL skips the port",
			c:        web("SERVICE_CHECK_TTL=soon"),
			problems: []string{"SERVICE_CHECK_TTL"}},
		{name: "malformed TCP flag skips the port",
			c:        web("SERVICE_CHECK_TCP=maybe"),
			problems: []string{"SERVICE_CHECK_TCP"}},
		{name: "malformed initial status skips the port",
			c:        web("SERVICE_CHECK_HTTP=/h", "SERVICE_CHECK_INITIAL_STATUS=green"),
			problems: []string{"SERVICE_CHECK_INITIAL_STATUS"}},
		{name: "malformed deregister-after skips the port",
			c:        web("SERVICE_CHECK_HTTP=/h", "SERVICE_CHECK_DEREGISTER_AFTER=-1s"),
			problems: []string{"SERVICE_CHECK_DEREGISTER_AFTER"}},
		{name: "malformed timeout skips the port",
			c:        web("SERVICE_CHECK_TCP=1", "SERVICE_CHECK_TIMEOUT=x"),
			problems: []string{"SERVICE_CHECK_TIMEOUT"}},
		{name: "a malformed check on one port keeps the other",
			c:        two("SERVICE_443_CHECK_TTL=x"),
			want:     []want{w("h1:web1:80", "nginx-80", "127.0.0.1", 8080)},
			problems: []string{"SERVICE_443_CHECK_TTL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opt := tc.opt
			opt.Hostname = "h1"
			r := Map(tc.c.inspect(), opt)
			got := []want{}
			for _, s := range r.Services {
				got = append(got, project(s))
				if s.Meta[service.MetaHost] != "h1" || s.Meta[service.MetaContainer] != testID {
					t.Errorf("service %s: owner meta %v", s.ID, s.Meta)
				}
			}
			wantSvcs := tc.want
			if wantSvcs == nil {
				wantSvcs = []want{}
			}
			if !reflect.DeepEqual(got, wantSvcs) {
				t.Errorf("services:\n got  %+v\n want %+v", got, wantSvcs)
			}
			var keys []string
			for _, p := range r.Problems {
				keys = append(keys, p.Key)
			}
			if !reflect.DeepEqual(keys, tc.problems) {
				t.Errorf("problems %v, want keys %v", r.Problems, tc.problems)
			}
			if tc.note != "" && !strings.Contains(strings.Join(r.Notes, "\n"), tc.note) {
				t.Errorf("notes %q do not mention %q", r.Notes, tc.note)
			}
		})
	}
}
