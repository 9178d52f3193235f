package ui

import (
	"context"
	"net/http"
	"strings"

	"github.com/beacon-sd/beacon/core/structs"
)

// TokenHeader carries the request's ACL token to the UI: the API server
// puts there the token it found (header, ?token, the UI's cookie, or the
// agent's default).
const TokenHeader = "X-Consul-Token"

// TokenCookie is where the ACL tokens page keeps the token a user entered.
const TokenCookie = "beacon-ui-token"

type tokenKey struct{}

// q is the query options of a page's reads: the page's token.
func q(ctx context.Context) structs.QueryOptions {
	tok, _ := ctx.Value(tokenKey{}).(string)
	return structs.QueryOptions{Token: tok}
}

// tokenPage is /ui/<dc>/acls/tokens: a form to enter the token the pages
// read with (as Consul's UI asks for one), kept in a cookie only the
// agent sees; an empty token logs out.
func (h *Handler) tokenPage(w http.ResponseWriter, r *http.Request, section string) {
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
			return
		}
		c := &http.Cookie{Name: TokenCookie, Value: strings.TrimSpace(r.PostForm.Get("token")), Path: "/ui/",
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
		if c.Value == "" {
			c.MaxAge = -1
		}
		http.SetCookie(w, c)
		http.Redirect(w, r, "/ui/"+h.Datacenter+"/services", http.StatusSeeOther)
		return
	}
	_, err := r.Cookie(TokenCookie)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	view := map[string]interface{}{"DC": h.Datacenter, "Node": h.NodeName, "Page": section, "Data": err == nil}
	if err := pages().ExecuteTemplate(w, "acls.html", view); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}
