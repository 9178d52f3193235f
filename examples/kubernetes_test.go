package examples

import (
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/freeport"
)

// The parts of Kubernetes objects the manifests are checked on.
type (
	k8sObject struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   k8sMeta           `yaml:"metadata"`
		Data       map[string]string `yaml:"data"`
		Spec       k8sSpec           `yaml:"spec"`
	}
	k8sMeta struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	}
	k8sSpec struct {
		// Service
		ClusterIP                string    `yaml:"clusterIP"`
		PublishNotReadyAddresses bool      `yaml:"publishNotReadyAddresses"`
		Ports                    []k8sPort `yaml:"ports"`
		// StatefulSet, DaemonSet, PodDisruptionBudget; a Service's
		// selector is a plain label map.
		ServiceName          string      `yaml:"serviceName"`
		Replicas             int         `yaml:"replicas"`
		PodManagementPolicy  string      `yaml:"podManagementPolicy"`
		Selector             yaml.Node   `yaml:"selector"`
		Template             k8sTemplate `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata k8sMeta `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
	}
	k8sPort struct {
		Name          string `yaml:"name"`
		Port          int    `yaml:"port"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	}
	k8sTemplate struct {
		Metadata k8sMeta `yaml:"metadata"`
		Spec     struct {
			Affinity struct {
				PodAntiAffinity struct {
					Required []struct {
						TopologyKey   string `yaml:"topologyKey"`
						LabelSelector struct {
							MatchLabels map[string]string `yaml:"matchLabels"`
						} `yaml:"labelSelector"`
					} `yaml:"requiredDuringSchedulingIgnoredDuringExecution"`
				} `yaml:"podAntiAffinity"`
			} `yaml:"affinity"`
			SecurityContext struct {
				RunAsNonRoot bool `yaml:"runAsNonRoot"`
				RunAsUser    int  `yaml:"runAsUser"`
			} `yaml:"securityContext"`
			Containers []k8sContainer `yaml:"containers"`
			Volumes    []struct {
				Name      string `yaml:"name"`
				ConfigMap *struct {
					Name string `yaml:"name"`
				} `yaml:"configMap"`
				EmptyDir *struct{} `yaml:"emptyDir"`
			} `yaml:"volumes"`
		} `yaml:"spec"`
	}
	k8sContainer struct {
		Name    string   `yaml:"name"`
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		Env     []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				FieldRef *struct {
					FieldPath string `yaml:"fieldPath"`
				} `yaml:"fieldRef"`
				SecretKeyRef *struct {
					Name string `yaml:"name"`
					Key  string `yaml:"key"`
				} `yaml:"secretKeyRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports          []k8sPort `yaml:"ports"`
		ReadinessProbe struct {
			Exec struct {
				Command []string `yaml:"command"`
			} `yaml:"exec"`
		} `yaml:"readinessProbe"`
		Lifecycle struct {
			PreStop struct {
				Exec struct {
					Command []string `yaml:"command"`
				} `yaml:"exec"`
			} `yaml:"preStop"`
		} `yaml:"lifecycle"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
)

// readManifests decodes every YAML document of every manifest.
func readManifests(t *testing.T) []k8sObject {
	t.Helper()
	files, err := filepath.Glob(example("kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var out []k8sObject
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(r)
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Fatalf("%s: a document without apiVersion, kind or metadata.name", f)
			}
			out = append(out, o)
		}
		r.Close()
	}
	return out
}

func findObject(t *testing.T, objs []k8sObject, kind string) k8sObject {
	t.Helper()
	var found []k8sObject
	for _, o := range objs {
		if o.Kind == kind {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d objects of kind %s, want 1", len(found), kind)
	}
	return found[0]
}

// matchLabels reads a selector node: {matchLabels: {...}} or a Service's
// plain label map.
func matchLabels(n yaml.Node) map[string]string {
	var withMatch struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	if n.Decode(&withMatch) == nil && withMatch.MatchLabels != nil {
		return withMatch.MatchLabels
	}
	var plain map[string]string
	n.Decode(&plain)
	return plain
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestKubernetesManifests checks the objects and how they fit together:
// API versions a current cluster serves, selectors that select the pods,
// the headless Service the servers join through, one server per node, and
// a data volume per server.
func TestKubernetesManifests(t *testing.T) {
	objs := readManifests(t)
	versions := map[string]string{
		"Service": "v1", "ConfigMap": "v1", "StatefulSet": "apps/v1",
		"DaemonSet": "apps/v1", "PodDisruptionBudget": "policy/v1",
	}
	for _, o := range objs {
		if want, ok := versions[o.Kind]; !ok || o.APIVersion != want {
			t.Errorf("%s %s: apiVersion %s, want %s", o.Kind, o.Metadata.Name, o.APIVersion, want)
		}
		if o.Kind == "StatefulSet" || o.Kind == "DaemonSet" {
			if !selects(matchLabels(o.Spec.Selector), o.Spec.Template.Metadata.Labels) {
				t.Errorf("%s %s: its selector does not select its own pods", o.Kind, o.Metadata.Name)
			}
		}
	}
	svc := findObject(t, objs, "Service")
	sts := findObject(t, objs, "StatefulSet")
	pdb := findObject(t, objs, "PodDisruptionBudget")
	if svc.Spec.ClusterIP != "None" || !svc.Spec.PublishNotReadyAddresses {
		t.Error("the servers' Service must be headless and list pods before they are ready (they become ready only after joining)")
	}
	if !selects(matchLabels(svc.Spec.Selector), sts.Spec.Template.Metadata.Labels) {
		t.Error("the Service does not select the server pods")
	}
	if !selects(matchLabels(pdb.Spec.Selector), sts.Spec.Template.Metadata.Labels) {
		t.Error("the PodDisruptionBudget does not select the server pods")
	}
	if sts.Spec.ServiceName != svc.Metadata.Name || sts.Spec.Replicas != 3 {
		t.Errorf("StatefulSet: serviceName %q replicas %d, want %q and 3", sts.Spec.ServiceName, sts.Spec.Replicas, svc.Metadata.Name)
	}
	if sts.Spec.PodManagementPolicy != "Parallel" {
		t.Error("StatefulSet: podManagementPolicy must be Parallel: with OrderedReady the first server waits for a readiness that needs the others")
	}
	anti := sts.Spec.Template.Spec.Affinity.PodAntiAffinity.Required
	if len(anti) != 1 || anti[0].TopologyKey != "kubernetes.io/hostname" || !selects(anti[0].LabelSelector.MatchLabels, sts.Spec.Template.Metadata.Labels) {
		t.Errorf("StatefulSet: no anti-affinity keeping server pods on distinct nodes: %+v", anti)
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 || sts.Spec.VolumeClaimTemplates[0].Metadata.Name != "data" {
		t.Error("StatefulSet: want one volumeClaimTemplate, data")
	}
	for _, p := range []struct {
		port  int
		proto string
	}{{8500, ""}, {8300, ""}, {8301, "TCP"}, {8301, "UDP"}} {
		if !slices.ContainsFunc(svc.Spec.Ports, func(q k8sPort) bool { return q.Port == p.port && q.Protocol == p.proto }) {
			t.Errorf("Service: no port %d %s", p.port, p.proto)
		}
	}
}

// TestKubernetesContainers runs each agent container's args through the
// agent's flag parser and config loader, with the ConfigMap mounted where
// the manifest mounts it and the environment variables the args use set as
// Kubernetes would; runs its preStop command line through the binary; and
// runs its readiness probe, with the image's busybox applets, against an
// agent with a leader.
func TestKubernetesContainers(t *testing.T) {
	objs := readManifests(t)
	im := readDockerfile(t, filepath.Join(repoRoot(), "Dockerfile")).image(t)
	configMaps := map[string]map[string]string{}
	for _, o := range objs {
		if o.Kind == "ConfigMap" {
			configMaps[o.Metadata.Name] = o.Data
		}
	}
	key := gossipKey(t)
	for _, o := range objs {
		if o.Kind != "StatefulSet" && o.Kind != "DaemonSet" {
			continue
		}
		t.Run(o.Metadata.Name, func(t *testing.T) {
			pod := o.Spec.Template.Spec
			if !pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser == 0 {
				t.Error("the pod may run as root")
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			if len(c.Command) > 0 || len(c.Args) == 0 || c.Args[0] != "agent" {
				t.Fatalf("command %q args %q: want the image's entrypoint (%v) with agent args", c.Command, c.Args, im.entrypoint)
			}

			// $(VAR) references, as the kubelet expands them.
			env := map[string]string{}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom == nil:
					env[e.Name] = e.Value
				case e.ValueFrom.FieldRef != nil:
					env[e.Name] = map[string]string{
						"status.podIP": "10.244.1.7", "spec.nodeName": "node-a",
						"metadata.name": "pod-0", "status.hostIP": "10.0.0.21",
					}[e.ValueFrom.FieldRef.FieldPath]
				case e.ValueFrom.SecretKeyRef != nil:
					env[e.Name] = key
				}
				if env[e.Name] == "" {
					t.Errorf("env %s: no value the test knows how to fill", e.Name)
				}
			}
			ref := regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)
			args := make([]string, len(c.Args)-1)
			for i, a := range c.Args[1:] {
				args[i] = ref.ReplaceAllStringFunc(a, func(m string) string {
					name := ref.FindStringSubmatch(m)[1]
					v, ok := env[name]
					if !ok {
						t.Errorf("arg %s: $(%s) is not in the container's env", a, name)
					}
					return v
				})
			}

			// Mounts: where the config and data dirs are, and what they hold.
			remap := map[string]string{}
			var dataMount, configMount string
			for _, m := range c.VolumeMounts {
				for _, v := range pod.Volumes {
					if v.Name != m.Name {
						continue
					}
					if v.ConfigMap != nil {
						data, ok := configMaps[v.ConfigMap.Name]
						if !ok {
							t.Fatalf("volume %s: no ConfigMap %s in the manifests", v.Name, v.ConfigMap.Name)
						}
						dir := t.TempDir()
						for name, content := range data {
							writeFile(t, filepath.Join(dir, name), content)
						}
						remap[m.MountPath] = dir
						configMount = m.MountPath
					}
				}
				if m.Name == "data" {
					dataMount = m.MountPath
					remap[m.MountPath] = t.TempDir()
				}
			}
			cfg, err := agentConfig(t, args, remap)
			if err != nil {
				t.Fatalf("beacon agent %s: %v", strings.Join(args, " "), err)
			}
			if !slices.Contains(args, "-data-dir="+dataMount) || !slices.Contains(args, "-config-dir="+configMount) {
				t.Errorf("args %q: the data dir and config dir are not the mounted volumes (%s, %s)", args, dataMount, configMount)
			}
			if cfg.Datacenter != "dc1" || cfg.Encrypt != key || cfg.AdvertiseAddr != env["POD_IP"] {
				t.Errorf("datacenter %q, encrypt set %v, advertise %q: the ConfigMap or env did not apply", cfg.Datacenter, cfg.Encrypt == key, cfg.AdvertiseAddr)
			}
			if !slices.Contains(cfg.RetryJoin, "beacon-server") {
				t.Errorf("retry_join %q: want the servers' headless Service", cfg.RetryJoin)
			}
			if cfg.ClientAddr != "0.0.0.0" || cfg.Ports.HTTP != 8500 {
				t.Errorf("client_addr %s, HTTP port %d: probes and preStop use 127.0.0.1:8500", cfg.ClientAddr, cfg.Ports.HTTP)
			}
			if server := o.Kind == "StatefulSet"; cfg.Server != server || (server && cfg.BootstrapExpect != o.Spec.Replicas) {
				t.Errorf("server %v bootstrap_expect %d, for a %s of %d", cfg.Server, cfg.BootstrapExpect, o.Kind, o.Spec.Replicas)
			}

			stop := c.Lifecycle.PreStop.Exec.Command
			if len(stop) != 2 || !im.has(stop[0]) || stop[1] != "leave" {
				t.Errorf("preStop %q: want the image's beacon binary with leave", stop)
			} else {
				checkSubcommand(t, stop[1:])
			}
			runProbe(t, c.ReadinessProbe.Exec.Command)
		})
	}
}

// runProbe runs a readiness probe's command against an agent with a
// leader (it must pass), a server still waiting for its peers and no agent
// (it must fail), with the shell, wget and grep of busybox when it is
// installed, as in the image.
func runProbe(t *testing.T, argv []string) {
	t.Helper()
	if len(argv) != 3 || argv[0] != "/bin/sh" || argv[1] != "-ec" || !strings.Contains(argv[2], "/v1/status/leader") {
		t.Fatalf("readiness probe %q: want /bin/sh -ec with a check of /v1/status/leader", argv)
	}
	bin := t.TempDir()
	if busybox, err := exec.LookPath("busybox"); err == nil {
		for _, applet := range []string{"sh", "wget", "grep"} {
			if err := os.Symlink(busybox, filepath.Join(bin, applet)); err != nil {
				t.Fatal(err)
			}
		}
	}
	probe := func(addr string) error {
		script := strings.ReplaceAll(argv[2], "127.0.0.1:8500", addr)
		cmd := exec.Command("sh", "-ec", script)
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		return cmd.Run()
	}
	a := testagent.Start(t)
	if err := probe(a.HTTPAddr); err != nil {
		t.Errorf("readiness probe against an agent with a leader: %v", err)
	}
	lonely := startLonelyServer(t)
	if err := probe(lonely); err == nil {
		t.Error("readiness probe passes on a server without a leader")
	}
	if err := probe("127.0.0.1:" + strconv.Itoa(freeport.Port(t))); err == nil {
		t.Error("readiness probe passes with no agent")
	}
}

// startLonelyServer starts a server that waits for two more (so has no
// leader) and returns its HTTP address once it answers.
func startLonelyServer(t *testing.T) string {
	t.Helper()
	p := freeport.Ports(t, 3)
	addr := "127.0.0.1:" + strconv.Itoa(p[0])
	cmd := exec.Command(beaconBin, "agent", "-server", "-bootstrap-expect=3", "-node=lonely",
		"-data-dir="+t.TempDir(), "-bind=127.0.0.1", "-http-port="+strconv.Itoa(p[0]),
		"-server-port="+strconv.Itoa(p[1]), "-serf-lan-port="+strconv.Itoa(p[2]),
		"-serf-wan-port=-1", "-dns-port=-1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		resp, err := http.Get("http://" + addr + "/v1/status/leader")
		if err == nil {
			resp.Body.Close()
			return addr
		}
		if i == 100 {
			t.Fatalf("the server did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
