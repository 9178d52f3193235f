package http

import (
	"fmt"
	"net/http"

	"github.com/beacon-sd/beacon/core/httpserver"
)

// meshRoutes are the service mesh endpoints beacon does not serve, each
// with the feature it belongs to, worded to go before "not supported".
// They answer 501 naming it, so a client learns why rather than meeting
// a 404.
var meshRoutes = []struct{ path, feature string }{
	{"/v1/connect/intentions", "service mesh intentions are"},
	{"/v1/connect/intentions/", "service mesh intentions are"},
	{"/v1/connect/", "this service mesh endpoint is"},
	{"/v1/connect/ca/", "this Connect CA endpoint is (roots and configuration are served)"},
	{"/v1/agent/connect/authorize", "service mesh authorization (intentions) is"},
	{"/v1/agent/connect/", "this service mesh endpoint is (CA roots and leaf certificates are served)"},
	{"/v1/config", "service mesh config entries are"},
	{"/v1/config/", "service mesh config entries are"},
	{"/v1/peering/", "cluster peering is"},
	{"/v1/peerings", "cluster peering is"},
	{"/v1/exported-services", "cluster peering (exported services) is"},
	{"/v1/imported-services", "cluster peering (imported services) is"},
	{"/v1/discovery-chain/", "service mesh discovery chains are"},
	{"/v1/catalog/connect/", "service mesh (Connect-capable service lookups) is"},
	{"/v1/health/connect/", "service mesh (Connect-capable service lookups) is"},
	{"/v1/health/ingress/", "service mesh ingress gateways are"},
	{"/v1/catalog/gateway-services/", "service mesh gateways are"},
	{"/v1/internal/ui/gateway-services-nodes/", "service mesh gateways are"},
	{"/v1/internal/ui/gateway-intentions/", "service mesh intentions are"},
	{"/v1/internal/ui/service-topology/", "service mesh topology is"},
	{"/v1/internal/ui/exported-services", "cluster peering (exported services) is"},
	{"/v1/internal/ui/imported-services", "cluster peering (imported services) is"},
	{"/v1/internal/ui/peered-upstreams", "cluster peering is"},
}

// notMesh answers an endpoint of a service mesh feature beacon leaves out.
func notMesh(feature string) handlerFunc {
	return func(w *httpserver.Response, r *request) (interface{}, error) {
		return nil, &codedError{http.StatusNotImplemented,
			fmt.Sprintf("%s not supported by beacon (%s %s): it serves service discovery, KV and the Connect CA, not the service mesh", feature, r.Method, r.Path)}
	}
}
