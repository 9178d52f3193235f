package watch

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/beacon-sd/beacon/core/config"
	"github.com/beacon-sd/beacon/core/structs"
	"github.com/beacon-sd/beacon/watcher/consul"
)

// Start runs the watches of an agent's configuration against the agent's
// own HTTP API at addr, each reading with its own token (the agent's
// default token when it has none) and running its own handler, until the
// returned stop is called; stop waits for them. Over HTTPS the agent's own
// certificate is presented (for verify_incoming), and its name is not
// checked: the address is the agent's own. It is a daemon.WatchStarter.
func Start(defs []*structs.WatchDefinition, addr string, tlsFiles config.TLSSettings, logger hclog.Logger) (func(), error) {
	var ws []*Watch
	var clients []*consul.Client
	closeAll := func() {
		for _, c := range clients {
			c.Close()
		}
	}
	for i, def := range defs {
		cc := consul.Config{Address: addr, Token: def.Token}
		if strings.HasPrefix(addr, "https://") {
			cc.TLS = consul.TLSConfig{Enabled: true, CACert: tlsFiles.CAFile, CAPath: tlsFiles.CAPath,
				Cert: tlsFiles.CertFile, Key: tlsFiles.KeyFile}
		}
		c, err := consul.New(cc)
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("watches[%d]: %w", i, err)
		}
		clients = append(clients, c)
		w, err := New(def, c, FromDefinition(def, logger), Options{Logger: logger})
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("watches[%d]: %w", i, err)
		}
		if def.Handler != "" {
			logger.Warn("the handler field of a watch is deprecated; write the command as args", "watch", w.String())
		}
		ws = append(ws, w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(ctx); err != nil {
				logger.Error("watch stopped", "watch", w.String(), "error", err)
			}
		}()
	}
	logger.Info("watches started", "count", len(ws), "api", addr)
	return func() {
		cancel()
		wg.Wait()
		closeAll()
	}, nil
}
