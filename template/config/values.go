package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ParseTemplateFlag reads the value of -template: "src", "src:dst" or
// "src:dst:command" (the command may itself contain colons).
func ParseTemplateFlag(s string, n int) (*Template, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("-template: empty value")
	}
	parts := strings.SplitN(s, ":", 3)
	t := &Template{Source: ptr(parts[0]), Origin: fmt.Sprintf("-template #%d", n)}
	if parts[0] == "" {
		return nil, fmt.Errorf("-template %q: no source", s)
	}
	if len(parts) > 1 {
		t.Destination = ptr(parts[1])
	}
	if len(parts) > 2 && strings.TrimSpace(parts[2]) != "" {
		t.Command, t.Shell = []string{parts[2]}, true
	}
	return t, nil
}

// ParseWait reads "min" or "min:max"; without max, max is 4 × min.
func ParseWait(s string) (Wait, error) {
	lo, hi, two := strings.Cut(strings.TrimSpace(s), ":")
	min, err := time.ParseDuration(lo)
	if err != nil {
		return Wait{}, fmt.Errorf("wait %q: %q is not a duration like 5s", s, lo)
	}
	max := 4 * min
	if two {
		if max, err = time.ParseDuration(hi); err != nil {
			return Wait{}, fmt.Errorf("wait %q: %q is not a duration like 10s", s, hi)
		}
	}
	if min < 0 || max < min {
		return Wait{}, fmt.Errorf("wait %q: want 0 <= min <= max", s)
	}
	return Wait{Min: &min, Max: &max}, nil
}

// ParseAuth reads "user" or "user:password".
func ParseAuth(s string) Auth {
	user, pass, _ := strings.Cut(s, ":")
	return Auth{Enabled: ptr(true), Username: ptr(user), Password: ptr(pass)}
}

// ParseFileMode reads an octal mode such as "0644" or "644".
func ParseFileMode(s string) (os.FileMode, error) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("perms %q: want an octal mode like \"0644\"", s)
	}
	return os.FileMode(n), nil
}

// MissingPolicy says what a template does about data that does not come.
type MissingPolicy struct {
	// Kind is "block" (wait, the default), "fail" (give up after After)
	// or "default" (render Default in place of missing values).
	Kind    string
	After   time.Duration
	Default string
}

// ParseMissing reads `block`, `fail after <duration>`, `default` or
// `default <text>` (the text may be quoted).
func ParseMissing(s string) (MissingPolicy, error) {
	f := strings.TrimSpace(s)
	switch {
	case f == "block" || f == "":
		return MissingPolicy{Kind: "block"}, nil
	case f == "default":
		return MissingPolicy{Kind: "default"}, nil
	case strings.HasPrefix(f, "default "):
		text := strings.TrimSpace(strings.TrimPrefix(f, "default "))
		if uq, err := strconv.Unquote(text); err == nil {
			text = uq
		}
		return MissingPolicy{Kind: "default", Default: text}, nil
	case strings.HasPrefix(f, "fail after "):
		d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(f, "fail after ")))
		if err != nil || d <= 0 {
			return MissingPolicy{}, fmt.Errorf("missing %q: want a positive duration after \"fail after\"", s)
		}
		return MissingPolicy{Kind: "fail", After: d}, nil
	}
	return MissingPolicy{}, fmt.Errorf("missing %q: want \"block\", \"fail after <duration>\" or \"default <text>\"", s)
}

// signals are the names a kill or reload signal may have.
var signals = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGKILL": syscall.SIGKILL, "SIGTERM": syscall.SIGTERM, "SIGUSR1": syscall.SIGUSR1,
	"SIGUSR2": syscall.SIGUSR2, "SIGCONT": syscall.SIGCONT, "SIGSTOP": syscall.SIGSTOP,
	"SIGWINCH": syscall.SIGWINCH, "SIGALRM": syscall.SIGALRM,
}

// ParseSignal reads a signal name, with or without "SIG", any case.
func ParseSignal(s string) (syscall.Signal, error) {
	name := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	sig, ok := signals[name]
	if !ok {
		return 0, fmt.Errorf("signal %q: unknown (want e.g. SIGHUP, SIGTERM, SIGINT, SIGUSR1)", s)
	}
	return sig, nil
}
