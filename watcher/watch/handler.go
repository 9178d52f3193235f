package watch

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/exec"
)

// DefaultHTTPTimeout bounds an HTTP handler's request unless its
// configuration says otherwise.
const DefaultHTTPTimeout = 10 * time.Second

// handlerOutput is how much of an HTTP handler's answer is logged.
const handlerOutput = 4 << 10

// encode is a result as a handler gets it: JSON and a newline.
func encode(data any) ([]byte, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encoding the result: %w", err)
	}
	return append(b, '\n'), nil
}

// Command runs args with the result on its standard input and
// CONSUL_INDEX in its environment, and waits for it. With shell, args are
// one command line for $SHELL (/bin/sh when unset) -c. The command's
// output goes to stdout and stderr when they are set, else to log, a line
// per entry.
func Command(args []string, shell bool, stdout, stderr io.Writer, log hclog.Logger) Handler {
	argv := args
	if shell {
		sh := os.Getenv("SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		argv = []string{sh, "-c", strings.Join(args, " ")}
	}
	name := strings.Join(args, " ")
	return func(ctx context.Context, index uint64, data any) error {
		in, err := encode(data)
		if err != nil {
			return err
		}
		return exec.Run(ctx, exec.Command{
			Name: name, Owner: "watch", Args: argv, Stdin: in,
			Env:    []string{"CONSUL_INDEX=" + strconv.FormatUint(index, 10)},
			Stdout: stdout, Stderr: stderr,
		}, log)
	}
}

// HTTP sends the result to an endpoint as the body of a request with
// Content-Type application/json, X-Consul-Index and the configured
// headers. A transport error or an answer other than 2xx is the handler's
// error.
func HTTP(cfg *structs.WatchHTTPHandler, log hclog.Logger) Handler {
	method := cfg.Method
	if method == "" {
		method = http.MethodPost
	}
	timeout := cfg.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: cfg.TLSSkipVerify}
	client := &http.Client{Transport: tr}
	return func(ctx context.Context, index uint64, data any) error {
		body, err := encode(data)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, cfg.Path, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, cfg.Path, err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Consul-Index", strconv.FormatUint(index, 10))
		for k, vs := range cfg.Header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, cfg.Path, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(io.LimitReader(resp.Body, handlerOutput))
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: answered %s: %s", method, cfg.Path, resp.Status, strings.TrimSpace(string(out)))
		}
		log.Debug("watch HTTP handler answered", "url", cfg.Path, "status", resp.Status, "body", string(out))
		return nil
	}
}

// FromDefinition is the handler a watch of the agent's configuration
// names: its http_handler_config, its args, or its handler command line
// (run by the shell).
func FromDefinition(def *structs.WatchDefinition, log hclog.Logger) Handler {
	switch {
	case def.HandlerType == "http":
		return HTTP(def.HTTPHandlerConfig, log)
	case len(def.Args) > 0:
		return Command(def.Args, false, nil, nil, log)
	default:
		return Command([]string{def.Handler}, true, nil, nil, log)
	}
}
