package query

import (
	"slices"
	"strings"

	"github.com/beacon-sd/beacon/core/structs"
)

// Select keeps the health entries of a service that a query answers with:
// no critical check (no check other than passing with OnlyPassing), checks
// named in IgnoreCheckIDs aside; the node and service metadata asked for;
// every tag asked for and none of those written "!tag", compared without
// regard to case. The entries kept are returned in a new slice, in order.
func Select(s *structs.ServiceQuery, entries []structs.CheckServiceNode) []structs.CheckServiceNode {
	must, not := splitTags(s.Tags)
	out := make([]structs.CheckServiceNode, 0, len(entries))
	for _, e := range entries {
		if healthy(e.Checks, s.OnlyPassing, s.IgnoreCheckIDs) &&
			(len(s.NodeMeta) == 0 || e.Node != nil && structs.MetaMatches(e.Node.Meta, s.NodeMeta)) &&
			(len(s.ServiceMeta) == 0 || e.Service != nil && structs.MetaMatches(e.Service.Meta, s.ServiceMeta)) &&
			tagsMatch(e.Service, must, not) {
			out = append(out, e)
		}
	}
	return out
}

func healthy(checks []*structs.HealthCheck, onlyPassing bool, ignore []string) bool {
	for _, c := range checks {
		if slices.Contains(ignore, c.CheckID) {
			continue
		}
		if c.Status == structs.HealthCritical || onlyPassing && c.Status != structs.HealthPassing {
			return false
		}
	}
	return true
}

// splitTags sorts a query's tags into required ones and, written "!tag",
// excluded ones.
func splitTags(tags []string) (must, not []string) {
	for _, t := range tags {
		if rest, ok := strings.CutPrefix(t, "!"); ok {
			not = append(not, rest)
		} else {
			must = append(must, t)
		}
	}
	return must, not
}

func tagsMatch(svc *structs.NodeService, must, not []string) bool {
	if len(must) == 0 && len(not) == 0 {
		return true
	}
	var have []string
	if svc != nil {
		have = svc.Tags
	}
	if !structs.HasTags(have, must) {
		return false
	}
	for _, t := range not {
		if structs.HasTags(have, []string{t}) {
			return false
		}
	}
	return true
}

// FailoverDatacenters lists the datacenters a query fails over to, in the
// order they are tried: the NearestN first of known (the other
// datacenters, nearest first), then those of Datacenters and Targets, each
// once. A datacenter that is not known is skipped, as Consul skips it.
func FailoverDatacenters(f *structs.QueryFailoverOptions, known []string) []string {
	var out []string
	seen := map[string]bool{}
	for i, dc := range known {
		if i >= f.NearestN {
			break
		}
		out = append(out, dc)
		seen[dc] = true
	}
	named := append([]string(nil), f.Datacenters...)
	for _, t := range f.Targets {
		named = append(named, t.Datacenter)
	}
	for _, dc := range named {
		if !seen[dc] && slices.Contains(known, dc) {
			out = append(out, dc)
			seen[dc] = true
		}
	}
	return out
}
