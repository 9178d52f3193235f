package examples

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
}

// stage is one FROM and what follows it.
type stage struct {
	from, name string
	body       []instruction
}

// dockerfile is a parsed Dockerfile.
type dockerfile struct {
	args   map[string]string // ARGs before the first FROM, with defaults
	stages []stage
}

var dockerfileCommands = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true,
	"EXPOSE": true, "FROM": true, "HEALTHCHECK": true, "LABEL": true, "ONBUILD": true,
	"RUN": true, "SHELL": true, "STOPSIGNAL": true, "USER": true, "VOLUME": true, "WORKDIR": true,
}

// readDockerfile parses a Dockerfile: comments,
// backslash continuations (comment lines inside them are dropped, as
// Docker does), instructions and build stages.
func readDockerfile(t *testing.T, path string) dockerfile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	df := dockerfile{args: map[string]string{}}
	var cur *instruction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line == "" && cur == nil {
			continue
		}
		if cur == nil {
			cmd, args, _ := strings.Cut(line, " ")
			cur = &instruction{line: n, cmd: strings.ToUpper(cmd), args: args}
			if !dockerfileCommands[cur.cmd] {
				t.Fatalf("%s:%d: unknown instruction %q", path, n, cmd)
			}
		} else {
			cur.args += " " + line
		}
		if strings.HasSuffix(cur.args, "\\") {
			cur.args = strings.TrimSpace(strings.TrimSuffix(cur.args, "\\"))
			continue
		}
		cur.args = strings.TrimSpace(cur.args)
		df.add(t, *cur)
		cur = nil
	}
	if cur != nil {
		t.Fatalf("%s:%d: the file ends inside a continued instruction", path, cur.line)
	}
	if len(df.stages) == 0 {
		t.Fatalf("%s: no FROM", path)
	}
	return df
}

func (df *dockerfile) add(t *testing.T, in instruction) {
	t.Helper()
	switch {
	case in.cmd == "FROM":
		f := strings.Fields(in.args)
		st := stage{from: f[0]}
		if len(f) == 3 && strings.EqualFold(f[1], "AS") {
			st.name = f[2]
		} else if len(f) != 1 {
			t.Fatalf("line %d: FROM %s", in.line, in.args)
		}
		df.stages = append(df.stages, st)
	case len(df.stages) == 0:
		if in.cmd != "ARG" {
			t.Fatalf("line %d: %s before the first FROM", in.line, in.cmd)
		}
		k, v, _ := strings.Cut(in.args, "=")
		df.args[k] = v
	default:
		last := &df.stages[len(df.stages)-1]
		last.body = append(last.body, in)
	}
}

// all returns the arguments of every cmd instruction of a stage.
func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.body {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// execForm decodes a JSON-array (exec form) argument such as ENTRYPOINT's.
func execForm(t *testing.T, what, args string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		t.Fatalf("%s %s: not the exec (JSON array) form: %v", what, args, err)
	}
	return v
}

// image is what the Dockerfile's final stage says about the image.
type image struct {
	entrypoint, cmd []string
	user            string
	paths           []string // files the final stage copies in or links
}

func (df dockerfile) image(t *testing.T) image {
	t.Helper()
	final := df.stages[len(df.stages)-1]
	var im image
	for _, in := range final.body {
		switch in.cmd {
		case "ENTRYPOINT":
			im.entrypoint = execForm(t, "ENTRYPOINT", in.args)
		case "CMD":
			im.cmd = execForm(t, "CMD", in.args)
		case "USER":
			im.user = in.args
		case "COPY":
			f := strings.Fields(in.args)
			im.paths = append(im.paths, f[len(f)-1])
		case "RUN":
			for _, m := range regexp.MustCompile(`ln -s \S+ (\S+)`).FindAllStringSubmatch(in.args, -1) {
				im.paths = append(im.paths, m[1])
			}
		}
	}
	return im
}

// TestDockerfile checks the agent image's Dockerfile: a Go stage that
// builds a static binary with the Go version of go.mod, a small runtime
// stage that runs beacon as a user other than root, and a default command
// the agent accepts.
func TestDockerfile(t *testing.T) {
	df := readDockerfile(t, filepath.Join(repoRoot(), "Dockerfile"))
	if len(df.stages) != 2 {
		t.Fatalf("%d stages, want a build stage and a runtime stage", len(df.stages))
	}
	build, final := df.stages[0], df.stages[1]
	checkBuildStage(t, df, build, final)
	im := df.image(t)
	if im.user == "" || im.user == "root" || strings.HasPrefix(im.user, "0") {
		t.Errorf("USER %q: the image must not run as root", im.user)
	}
	if len(im.entrypoint) != 1 || !im.has(im.entrypoint[0]) {
		t.Errorf("ENTRYPOINT %q: want the beacon binary the image holds (%v)", im.entrypoint, im.paths)
	}
	if len(im.cmd) == 0 || im.cmd[0] != "agent" {
		t.Fatalf("CMD %q: want an agent command line", im.cmd)
	}
	if _, err := agentConfig(t, im.cmd[1:], nil); err != nil {
		t.Errorf("CMD %q: %v", im.cmd, err)
	}
	for _, p := range final.all("EXPOSE") {
		for _, want := range []string{"8500", "8301/udp", "8300", "8600/udp"} {
			if !strings.Contains(" "+p+" ", " "+want+" ") {
				t.Errorf("EXPOSE %s: missing %s", p, want)
			}
		}
	}
	// The links the image makes are names the binary answers to.
	dir := t.TempDir()
	for _, p := range im.paths {
		name := filepath.Base(p)
		if name == "beacon" {
			continue
		}
		link := filepath.Join(dir, name)
		if err := os.Symlink(beaconBin, link); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(link, "-h").CombinedOutput(); err != nil {
			t.Errorf("the binary invoked as %s: %v\n%s", name, err, out)
		}
	}
}

// checkBuildStage checks the two stages of an image built from source: a
// named golang stage with go.mod's Go version that builds a static
// ./cmd/beacon, and a runtime stage without the toolchain that copies the
// binary from it.
func checkBuildStage(t *testing.T, df dockerfile, build, final stage) {
	t.Helper()
	if build.name == "" || !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("first stage FROM %s AS %q: want a named golang stage", build.from, build.name)
	}
	gomod, err := os.ReadFile(filepath.Join(repoRoot(), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	if goVersion == nil {
		t.Fatal("go.mod has no go directive")
	}
	if got := df.args["GO_VERSION"]; got != string(goVersion[1]) || !strings.Contains(build.from, "${GO_VERSION}") {
		t.Errorf("the build stage uses Go %q (FROM %s); go.mod needs %s", got, build.from, goVersion[1])
	}
	static := false
	for _, run := range build.all("RUN") {
		if strings.Contains(run, "CGO_ENABLED=0 go build") && strings.Contains(run, "./cmd/beacon") {
			static = true
		}
	}
	if !static {
		t.Error("no RUN CGO_ENABLED=0 go build ... ./cmd/beacon in the build stage")
	}

	if strings.HasPrefix(final.from, "golang:") {
		t.Errorf("the runtime stage is FROM %s: the toolchain does not belong in the image", final.from)
	}
	copied := false
	for _, c := range final.all("COPY") {
		if strings.Contains(c, "--from="+build.name) {
			copied = true
		}
	}
	if !copied {
		t.Errorf("the runtime stage copies nothing --from=%s", build.name)
	}
}

// has reports whether the image holds an absolute path.
func (im image) has(path string) bool {
	for _, p := range im.paths {
		if p == path {
			return true
		}
	}
	return false
}

// TestDockerImageBuilds builds the image with the Docker engine of this
// machine when there is one and it holds the base images (the build pulls
// nothing from elsewhere), then runs the agent and registrator commands in
// it as the image's user.
func TestDockerImageBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image; skipped with -short")
	}
	tag := buildImage(t, "Dockerfile")
	for _, args := range [][]string{
		{"run", "--rm", tag, "version"},
		{"run", "--rm", tag, "registrator", "-h"},
		{"run", "--rm", "-v", example("docker") + ":/beacon/config:ro", tag, "validate", "/beacon/config/server.json"},
	} {
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Errorf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "id", tag, "-u").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) == "0" {
		t.Errorf("the image runs as uid %s (%v), want a user other than root", strings.TrimSpace(string(out)), err)
	}
}

// buildImage builds an image from a Dockerfile at the repository root with
// the Docker engine of this machine, or skips the test when there is none
// or it lacks a base image (the build pulls nothing). The image is removed
// when the test ends.
func buildImage(t *testing.T, name string) string {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker client")
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine to build with (DOCKER_HOST or /var/run/docker.sock): %s", strings.TrimSpace(string(out)))
	}
	df := readDockerfile(t, filepath.Join(repoRoot(), name))
	var bases []string
	for _, st := range df.stages {
		from := st.from
		for k, v := range df.args {
			from = strings.ReplaceAll(from, "${"+k+"}", v)
		}
		bases = append(bases, from)
	}
	for _, b := range bases {
		if err := exec.Command("docker", "image", "inspect", b).Run(); err != nil {
			t.Skipf("the engine does not hold the base image %s, and images cannot be pulled here", b)
		}
	}
	tag := fmt.Sprintf("beacon-examples-test:%d", time.Now().UnixNano())
	build := exec.Command("docker", "build", "--pull=false", "-f", name, "-t", tag, ".")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("docker", "image", "rm", "-f", tag).Run() })
	return tag
}

// TestDockerConfigs validates the seed's server and client configs with
// `beacon validate`, as the agent in the image reads them.
func TestDockerConfigs(t *testing.T) {
	for _, name := range []string{"server.json", "client.json"} {
		out, err := beacon(t, "validate", example("docker", name))
		if err != nil {
			t.Errorf("beacon validate %s: %v\n%s", name, err, out)
		}
	}
}
