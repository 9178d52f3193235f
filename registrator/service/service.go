// Package service is the neutral description of one service instance that a
// container offers: the Docker side (package mapping) produces it and the
// registries (package registry) write it, so neither knows the other.
package service

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
)

// Meta keys that every registration carries so that a registrator can tell
// which services it owns: the Docker host they belong to and the container
// that offers them.
const (
	MetaHost      = "registrator-host"
	MetaContainer = "registrator-container"
)

// Docker health states, as Docker reports them in State.Health.Status.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// Service is one service instance offered by one port of one container.
type Service struct {
	ID   string
	Name string
	// IP is the advertised address; empty means the address of the agent's
	// node (a port published on all of the host's interfaces).
	IP   string
	Port int
	Tags []string
	Meta map[string]string
	// Check is the health check asked for with SERVICE_CHECK_*, if any.
	Check *Check
	// DockerHealth is the container's HEALTHCHECK state (one of the
	// Health* constants), empty when the container has no health check.
	DockerHealth string

	// Where the service comes from.
	ContainerID   string
	ContainerName string
	ExposedPort   string // the port inside the container, "80"
	Proto         string // "tcp" or "udp"
}

// Host is the owner recorded in the service's meta.
func (s *Service) Host() string { return s.Meta[MetaHost] }

// Address is the service's address, with fallback used when the service is
// advertised on the node's address.
func (s *Service) Address(fallback string) string {
	if s.IP != "" {
		return s.IP
	}
	return fallback
}

// Check kinds, in the order of precedence when a container names several.
const (
	CheckHTTP   = "http"
	CheckHTTPS  = "https"
	CheckScript = "script"
	CheckDocker = "docker"
	CheckTTL    = "ttl"
	CheckTCP    = "tcp"
)

// Check is a health check asked for by a container. Durations are kept in
// the text form the agent accepts ("10s"); they have been validated.
type Check struct {
	Kind string
	// Path is the URL path of an HTTP(S) check, the command of a script or
	// docker check.
	Path            string
	Interval        string
	Timeout         string
	TTL             string
	DeregisterAfter string
	InitialStatus   string
	TLSSkipVerify   bool
	Method          string
	Shell           string // docker checks
}

// HTTPTarget is the URL an HTTP(S) check polls for a service at ip:port.
func (c *Check) HTTPTarget(ip string, port int) string {
	scheme := "http"
	if c.Kind == CheckHTTPS {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(ip, strconv.Itoa(port)) + c.Path
}

// TCPTarget is the host:port a TCP check connects to.
func (c *Check) TCPTarget(ip string, port int) string {
	return net.JoinHostPort(ip, strconv.Itoa(port))
}

// Command is the command of a script or docker check with $SERVICE_IP and
// $SERVICE_PORT replaced by the service's address.
func (c *Check) Command(ip string, port int) string {
	r := strings.NewReplacer("$SERVICE_IP", ip, "$SERVICE_PORT", strconv.Itoa(port))
	return r.Replace(c.Path)
}

// Fingerprint is a stable text form of everything a registry stores for the
// service; two services with equal fingerprints need no re-registration.
// The Docker health state is left out: it changes a check's status, not
// the registration.
func (s *Service) Fingerprint() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%q %q %q %d %q", s.ID, s.Name, s.IP, s.Port, s.Tags)
	keys := make([]string, 0, len(s.Meta))
	for k := range s.Meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %q=%q", k, s.Meta[k])
	}
	if s.Check != nil {
		fmt.Fprintf(&b, " check=%+v", *s.Check)
	}
	fmt.Fprintf(&b, " health=%t", s.DockerHealth != "")
	return b.String()
}
