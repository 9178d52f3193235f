// Package ui is the agent's built-in web UI: read-only pages for services
// and their health, nodes, and the KV store, rendered on the server from the
// same backend the HTTP API reads. Paths follow Consul's UI
// (/ui/<dc>/services, /ui/<dc>/nodes, /ui/<dc>/kv/...) so bookmarks carry
// over. With ACLs on, pages show what the token of the request may read:
// the token comes from the API's usual places, or from the one saved on
// the ACL tokens page (a cookie), else the agent's default token.
package ui

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/beacon-sd/beacon/core/agent"
	"github.com/beacon-sd/beacon/core/structs"
)

//go:embed templates/*.html
var templatesFS embed.FS

// pages are parsed on first use, not at start, so CLI commands that share
// the binary do not pay for them.
var pages = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("").Funcs(template.FuncMap{
		"join":    strings.Join,
		"pathEsc": url.PathEscape,
	}).ParseFS(templatesFS, "templates/*.html"))
})

// Handler serves the UI under /ui/.
type Handler struct {
	Backend    agent.Backend
	Datacenter string
	NodeName   string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/ui/")
	dc, page, _ := strings.Cut(rest, "/")
	if dc == "" || (page == "" && !strings.HasSuffix(rest, "/")) {
		http.Redirect(w, r, "/ui/"+h.Datacenter+"/services", http.StatusFound)
		return
	}
	if dc != h.Datacenter {
		http.Error(w, "unknown datacenter "+dc, http.StatusNotFound)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	ctx = context.WithValue(ctx, tokenKey{}, r.Header.Get(TokenHeader))
	section, arg, _ := strings.Cut(page, "/")
	var name string
	var data interface{}
	var err error
	switch section {
	case "", "services":
		if arg == "" {
			name = "services"
			data, err = h.services(ctx)
		} else {
			name = "service"
			data, err = h.service(ctx, arg)
		}
	case "nodes":
		if arg == "" {
			name = "nodes"
			data, err = h.nodes(ctx)
		} else {
			name = "node"
			data, err = h.node(ctx, arg)
		}
	case "kv":
		name = "kv"
		data, err = h.kv(ctx, arg)
	case "acls":
		h.tokenPage(w, r, section)
		return
	default:
		http.Error(w, "no such page", http.StatusNotFound)
		return
	}
	if err != nil {
		code := http.StatusInternalServerError
		if errors.Is(err, structs.ErrPermissionDenied) || errors.Is(err, structs.ErrACLNotFound) {
			code = http.StatusForbidden
		}
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	view := map[string]interface{}{"DC": h.Datacenter, "Node": h.NodeName, "Page": section, "Data": data}
	if err := pages().ExecuteTemplate(w, name+".html", view); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// serviceRow is one line of the services page.
type serviceRow struct {
	Name                       string
	Tags                       []string
	Passing, Warning, Critical int
	Instances                  int
}

func (h *Handler) services(ctx context.Context) ([]serviceRow, error) {
	var list structs.IndexedServices
	if err := h.Backend.CatalogServices(ctx, &structs.DCSpecificRequest{QueryOptions: q(ctx)}, &list); err != nil {
		return nil, err
	}
	var rows []serviceRow
	for name, tags := range list.Services {
		var health structs.IndexedCheckServiceNodes
		if err := h.Backend.HealthServiceNodes(ctx, &structs.ServiceSpecificRequest{ServiceName: name, QueryOptions: q(ctx)}, &health); err != nil {
			return nil, err
		}
		row := serviceRow{Name: name, Tags: tags, Instances: len(health.Nodes)}
		for _, n := range health.Nodes {
			switch worst(n.Checks) {
			case structs.HealthPassing:
				row.Passing++
			case structs.HealthWarning:
				row.Warning++
			default:
				row.Critical++
			}
		}
		rows = append(rows, row)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	return rows, nil
}

// worst is the most severe state among checks (passing when none).
func worst(checks []*structs.HealthCheck) string {
	state := structs.HealthPassing
	for _, c := range checks {
		switch c.Status {
		case structs.HealthCritical:
			return structs.HealthCritical
		case structs.HealthWarning:
			state = structs.HealthWarning
		}
	}
	return state
}

func (h *Handler) service(ctx context.Context, name string) (interface{}, error) {
	var health structs.IndexedCheckServiceNodes
	err := h.Backend.HealthServiceNodes(ctx, &structs.ServiceSpecificRequest{ServiceName: name, QueryOptions: q(ctx)}, &health)
	type inst struct {
		structs.CheckServiceNode
		State string
	}
	out := struct {
		Name      string
		Instances []inst
	}{Name: name}
	for _, n := range health.Nodes {
		out.Instances = append(out.Instances, inst{n, worst(n.Checks)})
	}
	return out, err
}

func (h *Handler) nodes(ctx context.Context) (interface{}, error) {
	var nodes structs.IndexedNodes
	err := h.Backend.CatalogNodes(ctx, &structs.DCSpecificRequest{QueryOptions: q(ctx)}, &nodes)
	return nodes.Nodes, err
}

func (h *Handler) node(ctx context.Context, name string) (interface{}, error) {
	var svcs structs.IndexedNodeServices
	if err := h.Backend.CatalogNodeServices(ctx, &structs.NodeSpecificRequest{Node: name, QueryOptions: q(ctx)}, &svcs); err != nil {
		return nil, err
	}
	var checks structs.IndexedHealthChecks
	err := h.Backend.HealthNodeChecks(ctx, &structs.NodeSpecificRequest{Node: name, QueryOptions: q(ctx)}, &checks)
	return struct {
		Name     string
		Node     *structs.Node
		Services []*structs.NodeService
		Checks   []*structs.HealthCheck
	}{name, svcs.Node, svcs.Services, checks.HealthChecks}, err
}

// kv shows the keys one level below a prefix, or one key's value.
func (h *Handler) kv(ctx context.Context, key string) (interface{}, error) {
	out := struct {
		Prefix  string
		Parents []string
		Keys    []string
		Entry   *structs.DirEntry
		Value   string
	}{Prefix: key}
	if key != "" && !strings.HasSuffix(key, "/") {
		var e structs.IndexedDirEntries
		if err := h.Backend.KVGet(ctx, &structs.KeyRequest{Key: key, QueryOptions: q(ctx)}, &e); err != nil {
			return nil, err
		}
		if len(e.Entries) > 0 {
			out.Entry = e.Entries[0]
			out.Value = string(e.Entries[0].Value)
		}
	} else {
		var keys structs.IndexedKeyList
		if err := h.Backend.KVKeys(ctx, &structs.KeyListRequest{Prefix: key, Separator: "/", QueryOptions: q(ctx)}, &keys); err != nil {
			return nil, err
		}
		out.Keys = keys.Keys
	}
	parts := strings.Split(strings.TrimSuffix(key, "/"), "/")
	for i := 1; i < len(parts); i++ {
		out.Parents = append(out.Parents, strings.Join(parts[:i], "/")+"/")
	}
	return out, nil
}
