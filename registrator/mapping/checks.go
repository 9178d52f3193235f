package mapping

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/beacon-sd/beacon/registrator/service"
)

// defaultInterval is how often an HTTP, TCP, script or docker check runs
// when SERVICE_CHECK_INTERVAL is not set (Registrator's default).
const defaultInterval = "10s"

// checkKinds maps the check_* key that asks for a check to its kind, in
// order of precedence: a container that names several gets the first.
var checkKinds = []struct{ key, kind string }{
	{"check_http", service.CheckHTTP},
	{"check_https", service.CheckHTTPS},
	{"check_script", service.CheckScript},
	{"check_docker", service.CheckDocker},
	{"check_ttl", service.CheckTTL},
	{"check_tcp", service.CheckTCP},
}

// checkOptions are the check_* keys that tune a check.
var checkOptions = map[string]bool{
	"check_interval": true, "check_timeout": true, "check_deregister_after": true,
	"check_initial_status": true, "check_tls_skip_verify": true, "check_method": true,
	"check_shell": true,
}

// parseCheck builds the check a port's settings ask for. It returns nil
// when they ask for none; problems name the key that is malformed, notes
// the keys that were ignored.
func parseCheck(md map[string]entry) (*service.Check, []Problem, []string) {
	var problems []Problem
	var notes []string
	bad := func(e entry, format string, args ...interface{}) {
		problems = append(problems, Problem{Key: e.key, Reason: fmt.Sprintf(format, args...)})
	}

	var chk *service.Check
	var chosen entry
	for _, ck := range checkKinds {
		e, ok := md[ck.key]
		if !ok || strings.TrimSpace(e.value) == "" {
			continue
		}
		if ck.kind == service.CheckTCP {
			on, err := strconv.ParseBool(strings.TrimSpace(e.value))
			if err != nil {
				bad(e, "%q is not true or false", e.value)
				continue
			}
			if !on {
				continue
			}
		}
		if chk != nil {
			notes = append(notes, fmt.Sprintf("%s ignored: %s already asks for a check", e.key, chosen.key))
			continue
		}
		chk, chosen = &service.Check{Kind: ck.kind}, e
		switch ck.kind {
		case service.CheckHTTP, service.CheckHTTPS:
			chk.Path = strings.TrimSpace(e.value)
			if !strings.HasPrefix(chk.Path, "/") {
				chk.Path = "/" + chk.Path
			}
		case service.CheckScript, service.CheckDocker:
			chk.Path = e.value
		case service.CheckTTL:
			if d, ok := duration(e.value); ok {
				chk.TTL = d
			} else {
				bad(e, "%q is not a duration such as 30s", e.value)
			}
		}
	}
	unknown := []string{}
	for k, e := range md {
		if strings.HasPrefix(k, "check_") && !checkOptions[k] && !isCheckKind(k) {
			unknown = append(unknown, e.key)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		notes = append(notes, k+" ignored: not a check setting")
	}
	if chk == nil {
		return nil, problems, notes
	}

	for _, d := range []struct {
		key string
		dst *string
	}{
		{"check_interval", &chk.Interval},
		{"check_timeout", &chk.Timeout},
		{"check_deregister_after", &chk.DeregisterAfter},
	} {
		if e, ok := md[d.key]; ok && strings.TrimSpace(e.value) != "" {
			if v, ok := duration(e.value); ok {
				*d.dst = v
			} else {
				bad(e, "%q is not a duration such as 10s", e.value)
			}
		}
	}
	if chk.Kind != service.CheckTTL && chk.Interval == "" {
		chk.Interval = defaultInterval
	}
	if e, ok := md["check_initial_status"]; ok && strings.TrimSpace(e.value) != "" {
		switch s := strings.ToLower(strings.TrimSpace(e.value)); s {
		case "passing", "warning", "critical":
			chk.InitialStatus = s
		default:
			bad(e, "%q is not passing, warning or critical", e.value)
		}
	}
	if e, ok := md["check_tls_skip_verify"]; ok && strings.TrimSpace(e.value) != "" {
		v, err := strconv.ParseBool(strings.TrimSpace(e.value))
		if err != nil {
			bad(e, "%q is not true or false", e.value)
		}
		chk.TLSSkipVerify = v
	}
	if e, ok := md["check_method"]; ok {
		chk.Method = strings.ToUpper(strings.TrimSpace(e.value))
	}
	if chk.Kind == service.CheckDocker {
		chk.Shell = "/bin/sh"
		if e, ok := md["check_shell"]; ok && strings.TrimSpace(e.value) != "" {
			chk.Shell = strings.TrimSpace(e.value)
		}
	}
	return chk, problems, notes
}

func isCheckKind(key string) bool {
	for _, ck := range checkKinds {
		if ck.key == key {
			return true
		}
	}
	return false
}

// duration validates a positive Go duration ("10s", "1m30s") and returns it
// in the agent's text form.
func duration(s string) (string, bool) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil || d <= 0 {
		return "", false
	}
	return d.String(), true
}
