// Package mapping turns a Docker container into the services it offers,
// following Registrator's conventions: one service per published port (per
// exposed port with -internal), named after the image unless SERVICE_NAME
// or SERVICE_<port>_NAME say otherwise, with tags, ID, metadata and a health
// check read from SERVICE_* env vars and labels (a label wins over an env
// var, a SERVICE_<port>_ key over a SERVICE_ key).
//
// Map is a pure function of the container's inspect data and the options:
// it calls nothing and logs nothing; the caller logs the problems and notes
// it returns.
package mapping

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"

	"github.com/beacon-sd/beacon/registrator/service"
)

// Options are the registrator flags that shape services.
type Options struct {
	// Hostname is the Docker host's name: the first part of default service
	// IDs and the owner recorded in every service's meta.
	Hostname string
	// Internal registers exposed ports at the container's own address
	// (-internal) instead of published ports at the host's.
	Internal bool
	// HostIP is the address advertised for published ports (-ip).
	HostIP string
	// Tags are added to every service (-tags).
	Tags []string
	// Explicit registers only containers with SERVICE_NAME (-explicit).
	Explicit bool
	// UseIPFromLabel names a label holding the address to advertise
	// (-useIpFromLabel).
	UseIPFromLabel string
	// RequireLabel registers only containers labelled SERVICE_REGISTER
	// (-require-label).
	RequireLabel bool
}

// Problem is a malformed setting. A container with a malformed port key is
// skipped; a port with a malformed check setting or address is skipped.
type Problem struct {
	Key    string // the env var or label, "SERVICE_80_CHECK_INTERVAL"
	Reason string
}

func (p Problem) String() string { return p.Key + ": " + p.Reason }

// Result is what Map found.
type Result struct {
	Services []*service.Service
	// Problems are malformed settings, each naming its key.
	Problems []Problem
	// Notes are decisions worth a log line: ports left out and why, the
	// address picked among several networks, settings ignored.
	Notes []string
}

// keys with a meaning of their own; every other SERVICE_* key is metadata.
var reserved = map[string]bool{
	"name": true, "id": true, "tags": true, "tag": true, "ignore": true,
	"network": true, "register": true,
}

// Map lists the services a running container offers.
func Map(info *container.InspectResponse, opt Options) Result {
	var r Result
	if info == nil || info.ContainerJSONBase == nil {
		return r
	}
	md, problems := readMetadata(info.Config)
	if len(problems) > 0 {
		r.Problems = problems
		r.Notes = append(r.Notes, "container skipped: a SERVICE_ key is malformed")
		return r
	}
	if e, ok := md.general["ignore"]; ok && truthy(e.value) {
		r.Notes = append(r.Notes, "container ignored: "+e.key+" is set")
		return r
	}
	if opt.RequireLabel && (info.Config == nil || !truthy(info.Config.Labels[prefix+"REGISTER"])) {
		r.Notes = append(r.Notes, "container ignored: no SERVICE_REGISTER label (-require-label)")
		return r
	}

	var offered []port
	seen := map[string]bool{}
	for _, p := range containerPorts(info) {
		seen[p.exposed] = true
		if !opt.Internal && p.hostPort == "" {
			r.Notes = append(r.Notes, fmt.Sprintf("port %s/%s left out: not published on the host (use -p, or run with -internal)", p.exposed, p.proto))
			continue
		}
		offered = append(offered, p)
	}
	for portKey, keys := range md.perPort {
		if !seen[portKey] {
			for _, e := range keys {
				r.Notes = append(r.Notes, fmt.Sprintf("%s ignored: the container has no port %s", e.key, portKey))
			}
		}
	}

	group := len(offered) > 1
	for _, p := range offered {
		svc, probs, notes := buildService(info, opt, md.forPort(p.exposed), p, group)
		r.Problems = append(r.Problems, probs...)
		r.Notes = append(r.Notes, notes...)
		if svc != nil {
			r.Services = append(r.Services, svc)
		}
	}
	sort.Strings(r.Notes)
	sort.Slice(r.Problems, func(i, j int) bool { return r.Problems[i].Key < r.Problems[j].Key })
	return r
}

// buildService makes the service of one port from the settings that apply
// to it; it returns nil when the port is ignored or its settings are bad.
func buildService(info *container.InspectResponse, opt Options, m map[string]entry, p port, group bool) (*service.Service, []Problem, []string) {
	var notes []string
	label := p.exposed + "/" + p.proto
	if e, ok := m["ignore"]; ok && truthy(e.value) {
		return nil, nil, []string{fmt.Sprintf("port %s ignored: %s is set", label, e.key)}
	}
	cname := strings.TrimPrefix(info.Name, "/")
	udp := p.proto == "udp"

	nameEntry := m["name"]
	name := strings.TrimSpace(nameEntry.value)
	if name == "" {
		if opt.Explicit {
			return nil, nil, []string{fmt.Sprintf("port %s left out: no SERVICE_NAME (-explicit)", label)}
		}
		name = defaultName(info)
	}
	if group && !nameEntry.byPort {
		name += "-" + p.exposed
	}

	idEntry := m["id"]
	id := strings.TrimSpace(idEntry.value)
	if id == "" {
		id = opt.Hostname + ":" + cname + ":" + p.exposed
		if udp {
			id += ":udp"
		}
	} else if group && !idEntry.byPort {
		// One SERVICE_ID for several ports would make their registrations
		// replace each other; keep them apart.
		id += ":" + p.exposed
		if udp {
			id += ":udp"
		}
		notes = append(notes, fmt.Sprintf("port %s registered as %q: %s applies to several ports (use SERVICE_%s_ID to set it exactly)", label, id, idEntry.key, p.exposed))
	}

	svc := &service.Service{
		ID: id, Name: name, ContainerID: info.ID, ContainerName: cname,
		ExposedPort: p.exposed, Proto: p.proto,
	}
	var problems []Problem
	if opt.Internal {
		svc.Port, _ = strconv.Atoi(p.exposed)
		if isHostNetwork(info) {
			svc.IP = opt.HostIP
		} else {
			ip, why, err := containerIP(info, m["network"])
			if err != nil {
				key := m["network"].key
				if key == "" {
					key = "-internal"
				}
				return nil, []Problem{{Key: key, Reason: err.Error()}}, notes
			}
			svc.IP = ip
			if _, named := m["network"]; named || len(info.NetworkSettings.Networks) > 1 {
				notes = append(notes, fmt.Sprintf("port %s advertised at %s", label, why))
			}
		}
	} else {
		svc.Port, _ = strconv.Atoi(p.hostPort)
		svc.IP = p.hostIP
		if opt.HostIP != "" {
			svc.IP = opt.HostIP
		}
	}
	if opt.UseIPFromLabel != "" {
		ip, found, err := ipFromLabel(info, opt.UseIPFromLabel)
		switch {
		case err != nil:
			problems = append(problems, Problem{Key: opt.UseIPFromLabel, Reason: err.Error()})
		case found:
			svc.IP = ip
			notes = append(notes, fmt.Sprintf("port %s advertised at %s from label %q", label, ip, opt.UseIPFromLabel))
		default:
			notes = append(notes, fmt.Sprintf("label %q not set: port %s advertised at %s", opt.UseIPFromLabel, label, orNode(svc.IP)))
		}
	}

	var proto []string
	if udp {
		proto = []string{"udp"}
	}
	svc.Tags = combineTags(splitTags(m["tags"].value), splitTags(m["tag"].value), opt.Tags, proto)

	meta, metaNotes := buildMeta(m, opt.Hostname, info.ID)
	svc.Meta = meta
	notes = append(notes, metaNotes...)

	chk, checkProblems, checkNotes := parseCheck(m)
	problems = append(problems, checkProblems...)
	notes = append(notes, checkNotes...)
	svc.Check = chk

	if info.State != nil && info.State.Health != nil {
		svc.DockerHealth = string(info.State.Health.Status)
	}
	if len(problems) > 0 {
		return nil, problems, append(notes, fmt.Sprintf("port %s skipped: a setting is malformed", label))
	}
	return svc, nil, notes
}

// metaKey is what Consul accepts as a meta key.
var metaKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// buildMeta turns every SERVICE_* key without a meaning of its own into
// service metadata (SERVICE_REGION=us2 → region=us2; SERVICE_META_TEAM=a →
// team=a) and records the owner.
func buildMeta(m map[string]entry, host, containerID string) (map[string]string, []string) {
	var notes []string
	meta := map[string]string{}
	for k, e := range m {
		if reserved[k] || strings.HasPrefix(k, "check_") {
			continue
		}
		key := strings.TrimPrefix(k, "meta_")
		switch {
		case !metaKey.MatchString(key) || strings.HasPrefix(key, "consul-"):
			notes = append(notes, fmt.Sprintf("%s not kept as metadata: %q is not a valid meta key", e.key, key))
			continue
		case key == service.MetaHost || key == service.MetaContainer:
			notes = append(notes, fmt.Sprintf("%s not kept as metadata: %q is the registrator's own", e.key, key))
			continue
		case len(e.value) > 512:
			notes = append(notes, fmt.Sprintf("%s not kept as metadata: longer than 512 bytes", e.key))
			continue
		}
		meta[key] = e.value
	}
	meta[service.MetaHost] = host
	meta[service.MetaContainer] = containerID
	return meta, notes
}

// defaultName is the service name when none is set: the image's base name
// without registry, tag or digest ("registry:5000/team/web:1.2" → "web"),
// or the container's name when it was started from an image ID.
func defaultName(info *container.InspectResponse) string {
	image := ""
	if info.Config != nil {
		image = info.Config.Image
	}
	image, _, _ = strings.Cut(image, "@")
	base := path.Base(image)
	base, _, _ = strings.Cut(base, ":")
	if base == "" || base == "." || base == "/" || base == "sha256" || isHexID(base) {
		return strings.TrimPrefix(info.Name, "/")
	}
	return base
}

func isHexID(s string) bool {
	if len(s) < 12 {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func orNode(ip string) string {
	if ip == "" {
		return "the node's address"
	}
	return ip
}
