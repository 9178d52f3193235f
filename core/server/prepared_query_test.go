package server

import (
	"context"
	"testing"

	"github.com/beacon-sd/beacon/core/structs"
)

// A create sent again with the same request ID, as a client does when its
// first attempt's outcome is unknown, answers the ID the first one stored
// and stores nothing more.
func TestPreparedQueryCreateRetryAnswersTheStoredID(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	req := func() *structs.PreparedQueryRequest {
		r := &structs.PreparedQueryRequest{Op: structs.PreparedQueryCreate,
			Query: &structs.PreparedQuery{Name: "web", Service: structs.ServiceQuery{Service: "web"}}}
		r.RequestID = "2f9d6a0e-4c1b-4e8e-9b7a-5d3c2a1f0e9d"
		return r
	}
	first, err := s.PreparedQueryApply(ctx, req())
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.PreparedQueryApply(ctx, req())
	if err != nil || again != first {
		t.Fatalf("retry answered %q %v, the first attempt stored %q", again, err, first)
	}
	var out structs.IndexedPreparedQueries
	if err := s.PreparedQueryList(ctx, &structs.DCSpecificRequest{}, &out); err != nil || len(out.Queries) != 1 || out.Queries[0].ID != first {
		t.Fatalf("stored: %+v %v", out.Queries, err)
	}
}
