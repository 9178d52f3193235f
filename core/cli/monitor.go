package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// interrupted returns a channel that receives when the user asks the
// command to stop (SIGINT, SIGTERM), and a func to stop listening. Tests
// replace it.
var interrupted = func() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

// monitorCommand is `beacon monitor [-log-level=LEVEL] [-log-json]`: prints
// the agent's log as it is written, until interrupted (exit 0) or until the
// agent ends the stream (exit 1).
func monitorCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("monitor", "beacon monitor [options]", `
Attaches to a running agent and prints its log entries as they are written.
The level may be finer than the agent's own: an agent logging at info shows
its debug entries to "beacon monitor -log-level=debug".`, stderr)
	var hf httpFlags
	hf.register(fs)
	level := fs.String("log-level", "INFO", "Log level of the entries to show: trace, debug, info, warn or error.")
	logJSON := fs.Bool("log-json", false, "Show the entries as JSON.")
	client, code := startClient(fs, args, &hf, 0)
	if client == nil {
		return code
	}
	stopSignals, unsubscribe := interrupted()
	defer unsubscribe()

	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	var lines chan string
	defer func() {
		close(stop) // the client's reader ends at its next line...
		cancel()    // ...which ending the request brings at once
		if lines != nil {
			go func() {
				for range lines { // until the reader closes it
				}
			}()
		}
	}()
	q := hf.queryOptions().WithContext(ctx)
	monitor := client.Agent().Monitor
	if *logJSON {
		monitor = client.Agent().MonitorJSON
	}
	lines, err := monitor(*level, stop, q)
	if err != nil {
		fmt.Fprintf(stderr, "Error starting monitor: %s\n", err)
		return 1
	}
	for {
		select {
		case <-stopSignals:
			return 0
		case line := <-lines:
			if line == "" { // the agent ended the stream
				fmt.Fprintln(stdout)
				fmt.Fprintln(stdout, "Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.")
				return 1
			}
			fmt.Fprintln(stdout, line)
		}
	}
}
