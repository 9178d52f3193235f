package examples

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/beacon-sd/beacon/registrator"
	tmplconfig "github.com/beacon-sd/beacon/template/config"
)

// templateConfig runs the words after `beacon template` through the
// renderer's flag parser and finalizes the result, as the binary does.
func templateConfig(t *testing.T, args []string) *tmplconfig.Config {
	t.Helper()
	c, _, err := tmplconfig.ParseFlags(args, io.Discard)
	if err != nil {
		t.Fatalf("beacon template %s: %v", strings.Join(args, " "), err)
	}
	if err := c.Finalize(); err != nil {
		t.Fatalf("beacon template %s: %v", strings.Join(args, " "), err)
	}
	return c
}

// checkSidecarFlags checks a command line of the sidecar against the seed's:
// the renderer's address, a 5s quiescence, and the one template from
// /etc/ctmpl/ctmpl to conf.d/app.conf with the reload script.
func checkSidecarFlags(t *testing.T, args []string) {
	t.Helper()
	c := templateConfig(t, args)
	if got := *c.Consul.Address; got != "127.0.0.1:8500" {
		t.Errorf("-consul-addr %q, want the local agent", got)
	}
	if c.Wait.Min == nil || *c.Wait.Min != 5*time.Second {
		t.Errorf("-wait %v, want 5s as in the seed", c.Wait.Min)
	}
	if len(c.Templates) != 1 {
		t.Fatalf("%d templates, want 1", len(c.Templates))
	}
	tc := c.Templates[0]
	if *tc.Source != "/etc/ctmpl/ctmpl" || *tc.Destination != "/etc/nginx/conf.d/app.conf" ||
		strings.Join(tc.Command, " ") != "/usr/local/bin/nginx-reload.sh" {
		t.Errorf("-template %s:%s:%s, want /etc/ctmpl/ctmpl:/etc/nginx/conf.d/app.conf:/usr/local/bin/nginx-reload.sh",
			*tc.Source, *tc.Destination, strings.Join(tc.Command, " "))
	}
}

// TestDockerfileNginx checks the sidecar image's Dockerfile: the static
// build stage of the agent image, an nginx runtime stage running as a user
// other than root, beacon template as the entrypoint with the seed's flags
// as the default arguments, the example's template and reload script in
// the places those flags name, and an nginx configuration that a non-root
// master can run (no user directive, the pid file where the script looks).
func TestDockerfileNginx(t *testing.T) {
	df := readDockerfile(t, filepath.Join(repoRoot(), "Dockerfile.nginx"))
	if len(df.stages) != 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(df.stages))
	}
	build, final := df.stages[0], df.stages[1]
	checkBuildStage(t, df, build, final)
	if !strings.HasPrefix(final.from, "nginx:") {
		t.Errorf("runtime stage FROM %s: want the nginx image", final.from)
	}
	im := df.image(t)
	if im.user == "" || im.user == "root" || strings.HasPrefix(im.user, "0") {
		t.Errorf("USER %q: nginx and the renderer must not run as root", im.user)
	}
	if len(im.entrypoint) != 2 || !im.has(im.entrypoint[0]) || im.entrypoint[1] != "template" {
		t.Errorf("ENTRYPOINT %q: want the image's beacon binary and template (%v)", im.entrypoint, im.paths)
	}
	checkSidecarFlags(t, im.cmd)
	for _, p := range []string{"/usr/local/bin/nginx-reload.sh", "/etc/ctmpl/ctmpl", "/usr/local/bin/consul-template"} {
		if !im.has(p) {
			t.Errorf("the image has no %s (%v)", p, im.paths)
		}
	}
	for _, c := range final.all("COPY") {
		if strings.Contains(c, "--from=") {
			continue
		}
		f := strings.Fields(c)
		for _, src := range f[:len(f)-1] {
			if strings.HasPrefix(src, "--") {
				continue
			}
			if _, err := os.Stat(filepath.Join(repoRoot(), src)); err != nil {
				t.Errorf("COPY %s: %v", c, err)
			}
		}
	}
	env := strings.Join(final.all("ENV"), " ")
	run := strings.Join(final.all("RUN"), " ")
	if !strings.Contains(env, "NGINX_PID=/tmp/nginx.pid") || !strings.Contains(run, "pid /tmp/nginx.pid;") {
		t.Errorf("the pid file nginx writes (RUN %s) and the one the reload script reads (ENV %s) differ", run, env)
	}
	if !strings.Contains(run, "/^user /d") {
		t.Error("the stock nginx.conf keeps its user directive, which a non-root master refuses to honour")
	}
	if !strings.Contains(env, "NGINX_LISTEN=8080") || !strings.Contains(strings.Join(final.all("EXPOSE"), " "), "8080") {
		t.Error("a non-root nginx listens on 8080: NGINX_LISTEN=8080 and EXPOSE 8080 expected")
	}
}

// TestDockerImageNginxBuilds builds the sidecar image where an engine holds
// its base images, and runs the reload script in it as the image's user:
// nginx starts from an empty site config.
func TestDockerImageNginxBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image; skipped with -short")
	}
	tag := buildImage(t, "Dockerfile.nginx")
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "sh", tag, "-c",
		`id -u && nginx-reload.sh && sleep 1 && kill -0 "$(cat /tmp/nginx.pid)" && beacon version`).CombinedOutput()
	if err != nil {
		t.Fatalf("the reload script in the image: %v\n%s", err, out)
	}
	if uid := strings.Fields(string(out)); len(uid) == 0 || uid[0] == "0" {
		t.Errorf("the image runs as root:\n%s", out)
	}
}

// compose is the part of a compose file the test reads.
type compose struct {
	Services map[string]struct {
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Image       string            `yaml:"image"`
		Command     []string          `yaml:"command"`
		NetworkMode string            `yaml:"network_mode"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Ports       []string          `yaml:"ports"`
		Init        bool              `yaml:"init"`
		DependsOn   []string          `yaml:"depends_on"`
	} `yaml:"services"`
	Volumes map[string]any `yaml:"volumes"`
}

// TestDockerComposeNginx checks examples/nginx/docker-compose.yml: a server
// whose command the agent loads, a registrator whose flags it accepts and
// that reads the Docker socket and registers with the local agent, the
// sidecar built from Dockerfile.nginx with the seed's flags and the
// example's template mounted, and two apps that register as nginx-test
// tagged calico on distinct published ports.
func TestDockerComposeNginx(t *testing.T) {
	b, err := os.ReadFile(example("nginx", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(false)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	dir := example("nginx")
	for _, name := range []string{"server", "registrator", "nginx", "app1", "app2"} {
		if _, ok := c.Services[name]; !ok {
			t.Fatalf("no service %q in docker-compose.yml", name)
		}
	}
	images := map[string]string{} // image → the Dockerfile that builds it
	for name, s := range c.Services {
		if s.Build != nil {
			df := filepath.Join(dir, s.Build.Context, s.Build.Dockerfile)
			if _, err := os.Stat(df); err != nil {
				t.Errorf("%s builds from %v", name, err)
			}
			images[s.Image] = s.Build.Dockerfile
		}
		for _, dep := range s.DependsOn {
			if _, ok := c.Services[dep]; !ok {
				t.Errorf("%s depends on %q, which is not a service", name, dep)
			}
		}
		for _, v := range s.Volumes {
			src := strings.Split(v, ":")[0]
			if strings.HasPrefix(src, ".") {
				if _, err := os.Stat(filepath.Join(dir, src)); err != nil {
					t.Errorf("%s mounts %v", name, err)
				}
			} else if !strings.HasPrefix(src, "/") {
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s mounts the volume %q, which is not declared", name, src)
				}
			}
		}
	}

	server := c.Services["server"]
	if images[server.Image] != "Dockerfile" || len(server.Command) == 0 || server.Command[0] != "agent" {
		t.Errorf("server: image %s command %q, want the beacon image running agent", server.Image, server.Command)
	} else {
		cfg, err := agentConfig(t, server.Command[1:], nil)
		if err != nil {
			t.Errorf("server command %q: %v", server.Command, err)
		} else if !cfg.Server {
			t.Errorf("server command %q does not run a server", server.Command)
		}
	}

	reg := c.Services["registrator"]
	if images[reg.Image] != "Dockerfile" || len(reg.Command) == 0 || reg.Command[0] != "registrator" {
		t.Errorf("registrator: image %s command %q, want the beacon image running registrator", reg.Image, reg.Command)
	} else {
		rc, err := registrator.ParseArgs(reg.Command[1:], io.Discard)
		if err != nil {
			t.Errorf("registrator command %q: %v", reg.Command, err)
		} else if rc.RegistryURI != "consul://127.0.0.1:8500" {
			t.Errorf("registrator registers with %s, want the agent of its own host", rc.RegistryURI)
		}
	}
	if !strings.Contains(strings.Join(reg.Volumes, " "), "/var/run/docker.sock:/tmp/docker.sock") {
		t.Errorf("registrator volumes %q: the Docker socket is not mounted where it looks", reg.Volumes)
	}

	ngx := c.Services["nginx"]
	if images[ngx.Image] != "Dockerfile.nginx" {
		t.Errorf("nginx: image %s is not built from Dockerfile.nginx", ngx.Image)
	}
	checkSidecarFlags(t, ngx.Command)
	if !strings.Contains(strings.Join(ngx.Volumes, " "), "./app.ctmpl:/etc/ctmpl/ctmpl") {
		t.Errorf("nginx volumes %q: the example's template is not mounted at /etc/ctmpl/ctmpl", ngx.Volumes)
	}
	if !ngx.Init {
		t.Error("nginx: init: true is needed to reap the processes under the renderer")
	}
	for _, name := range []string{"server", "registrator", "nginx"} {
		if c.Services[name].NetworkMode != "host" {
			t.Errorf("%s: network_mode %q, want host (the local agent on 127.0.0.1)", name, c.Services[name].NetworkMode)
		}
	}

	ports := map[string]bool{}
	for _, name := range []string{"app1", "app2"} {
		app := c.Services[name]
		if app.Environment["SERVICE_NAME"] != "nginx-test" || app.Environment["SERVICE_TAGS"] != "calico" {
			t.Errorf("%s registers as %q tagged %q, want nginx-test tagged calico", name,
				app.Environment["SERVICE_NAME"], app.Environment["SERVICE_TAGS"])
		}
		if len(app.Ports) != 1 || ports[app.Ports[0]] {
			t.Errorf("%s publishes %q: one port each, distinct", name, app.Ports)
		} else {
			ports[app.Ports[0]] = true
		}
	}
}
