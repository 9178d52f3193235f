package agent

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/beacon-sd/beacon/core/structs"
)

// persisted is what the agent keeps in its data dir: registrations made
// through the HTTP API (config files are re-read instead) and maintenance
// checks, so both survive a restart.
type persisted struct {
	Services []persistedService
	Checks   []persistedCheck
}

type persistedService struct {
	Service *structs.NodeService
	Token   string `json:",omitempty"`
}

type persistedCheck struct {
	Check      *structs.HealthCheck
	Definition *structs.CheckDefinition `json:",omitempty"`
	Token      string                   `json:",omitempty"`
}

const stateFile = "local-state.json"

func (a *Agent) statePath() string {
	if a.cfg.DataDir == "" {
		return ""
	}
	return filepath.Join(a.cfg.DataDir, stateFile)
}

// persistLocked records the API registrations to save and saves them in
// the background, so that a registration goes to the catalog without
// waiting for the disk; Persisted waits for the write. Failing to write is
// logged, not fatal: the registration still works until a restart.
func (a *Agent) persistLocked() {
	if a.statePath() == "" {
		return
	}
	var p persisted
	for _, ls := range a.services {
		if !ls.deleted && ls.source == SourceAPI {
			p.Services = append(p.Services, persistedService{Service: ls.svc, Token: ls.token})
		}
	}
	for _, lc := range a.checks {
		if !lc.deleted && lc.source == SourceAPI {
			p.Checks = append(p.Checks, persistedCheck{Check: lc.check, Definition: lc.def, Token: lc.token})
		}
	}
	// Encoded here, under the lock, as the entries may change after it.
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		a.logger.Error("saving local registrations failed", "error", err)
		return
	}
	a.toSave = b
	a.saveGen++
	go a.Persisted()
}

// Persisted returns once the registrations recorded so far are on disk,
// writing them unless a write of them (or of later ones) already did.
func (a *Agent) Persisted() {
	a.persistMu.Lock()
	defer a.persistMu.Unlock()
	a.mu.Lock()
	b, gen := a.toSave, a.saveGen
	a.mu.Unlock()
	if gen <= a.saved {
		return
	}
	path := a.statePath()
	if err := writeFileAtomic(path, b); err != nil {
		a.logger.Error("saving local registrations failed", "path", path, "error", err)
	}
	a.saved = gen
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// loadPersisted restores API registrations saved by a previous run.
func (a *Agent) loadPersisted() error {
	path := a.statePath()
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read saved registrations: %w", err)
	}
	var p persisted
	if err := json.Unmarshal(b, &p); err != nil {
		// A damaged file must not keep the agent down; keep it for a human.
		a.logger.Error("saved registrations are unreadable; starting without them", "path", path, "error", err)
		_ = os.Rename(path, path+".corrupt")
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ps := range p.Services {
		if ps.Service == nil || ps.Service.ID == "" {
			continue
		}
		a.services[ps.Service.ID] = &localService{svc: ps.Service, token: ps.Token, source: SourceAPI, rev: a.nextRev()}
	}
	for _, pc := range p.Checks {
		if pc.Check == nil || pc.Check.CheckID == "" {
			continue
		}
		hc := *pc.Check
		hc.Node = a.cfg.Node.Node
		a.addCheckLocked(&hc, pc.Definition, pc.Token, SourceAPI)
	}
	return nil
}
