package http_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/beacon-sd/beacon/core/testagent"
	"github.com/beacon-sd/beacon/internal/waitfor"
	"github.com/beacon-sd/beacon/internal/zeros"
)

// upload sends a PUT with a body of a known length and a token, and
// returns the status and the response body.
func upload(t *testing.T, a *testagent.Agent, path, token string, body io.Reader, length int64) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", a.URL(path), body)
	req.ContentLength = length
	if token != "" {
		req.Header.Set("X-Consul-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// Under default_policy deny, large uploads from callers who may not make
// them are answered 403 from their heads: an anonymous snapshot restore is
// refused with its body not yet sent, and a KV value is refused by the key
// it names, unread. Callers who may write get through.
func TestLargeUploadsRefusedBeforeTheBody(t *testing.T) {
	a := testagent.Start(t, testagent.WithHCL(`acl {
  enabled = true
  default_policy = "deny"
  tokens { initial_management = "root"  agent = "root" }
}`))
	root := tokenClient(t, a, "root")
	app := ruleToken(t, root, `key_prefix "app/" { policy = "write" }`)
	reader := ruleToken(t, root, `key_prefix "" { policy = "read" }  node_prefix "" { policy = "read" }`)

	// The restore's body is a pipe nothing is written to: a server that
	// read any of it before answering would wait, until the pipe fails.
	pr, pw := io.Pipe()
	defer pw.Close()
	defer time.AfterFunc(20*time.Second, func() { pw.CloseWithError(errors.New("no answer before the body")) }).Stop()
	code, body := upload(t, a, "/v1/snapshot", "", pr, 1<<20)
	if code != 403 || !strings.HasPrefix(body, "Permission denied") || !strings.Contains(body, "acl:write") {
		t.Errorf("anonymous restore: %d %q", code, body)
	}

	const value = 300 << 10 // over httpserver.SmallBody, under the KV limit
	cases := []struct {
		path, token string
		code        int
		says        string
	}{
		{"/v1/kv/app/a", "", 403, `lacks permission 'key:write' on "app/a"`},
		{"/v1/kv/other/a", app, 403, `lacks permission 'key:write' on "other/a"`},
		{"/v1/catalog/register", reader, 403, "lacks write permission on anything"},
		{"/v1/kv/app/a", app, 200, "true"},
	}
	for _, c := range cases {
		code, body := upload(t, a, c.path, c.token, zeros.New(value), value)
		if code != c.code || !strings.Contains(body, c.says) {
			t.Errorf("PUT %s: %d %q, want %d with %q", c.path, code, body, c.code, c.says)
		}
	}
	p, _, err := root.KV().Get("app/a", nil)
	if err != nil || p == nil || len(p.Value) != value {
		t.Fatalf("the allowed write: %v %v", p, err)
	}
}

// A snapshot is saved as a stream and restored from a stream (a chunked
// upload of the file, as `beacon snapshot restore` sends it), and only one
// restore runs on an agent at a time: another is answered 429, not
// applied.
func TestSnapshotRestoreStreamedOneAtATime(t *testing.T) {
	a := testagent.Start(t)
	kv := a.Client.KV()
	big := bytes.Repeat([]byte("0123456789"), 40<<10)
	for i := 0; i < 10; i++ {
		kv.Put(&api.KVPair{Key: fmt.Sprintf("big/%d", i), Value: big}, nil)
	}
	snap, _, err := a.Client.Snapshot().Save(nil)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "s.snap")
	f, _ := os.Create(file)
	io.Copy(f, snap)
	snap.Close()
	f.Close()
	kv.DeleteTree("big/", nil)

	// A restore whose body is still coming holds the agent's one restore.
	pr, pw := io.Pipe()
	first := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest("PUT", a.URL("/v1/snapshot"), pr)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("%d %s", resp.StatusCode, b)
			}
		}
		first <- err
	}()
	archive, _ := os.ReadFile(file)
	pw.Write(archive[:len(archive)/2])
	waitfor.Until(t, 60*time.Second, "a second restore to be turned away", func() bool {
		code, body := upload(t, a, "/v1/snapshot", "", bytes.NewReader(archive), int64(len(archive)))
		return code == 429 && strings.Contains(body, "another snapshot restore is running")
	})
	pw.Write(archive[len(archive)/2:])
	pw.Close()
	if err := <-first; err != nil {
		t.Fatalf("the first restore: %v", err)
	}
	keys, _, _ := kv.Keys("big/", "", nil)
	if len(keys) != 10 {
		t.Fatalf("restored %d keys, want 10", len(keys))
	}

	kv.DeleteTree("big/", nil)
	in, _ := os.Open(file)
	defer in.Close()
	if err := a.Client.Snapshot().Restore(nil, in); err != nil {
		t.Fatalf("a chunked restore from the file: %v", err)
	}
	if p, _, _ := kv.Get("big/9", nil); p == nil || !bytes.Equal(p.Value, big) {
		t.Fatal("the chunked restore lost data")
	}
}

// A small archive of many large zero-filled entries a snapshot has not is
// answered 400 naming the first of them, and the agent takes in little
// memory for it; the state stays as it was.
func TestSnapshotOfForeignEntriesRefused(t *testing.T) {
	a := testagent.Start(t)
	if _, err := a.Client.KV().Put(&api.KVPair{Key: "kept", Value: []byte("1")}, nil); err != nil {
		t.Fatal(err)
	}
	archive := zeros.TarGz(300, 1<<20, func(i int) string { return fmt.Sprintf("junk-%d", i) })

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := a.Client.Snapshot().Restore(nil, bytes.NewReader(archive))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), `holds "junk-0", which is no part of a snapshot`) {
		t.Errorf("restoring a %d KiB archive of 300 foreign entries: %v", len(archive)>>10, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 32<<20 {
		t.Errorf("the agent allocated %d MiB refusing a %d KiB archive", n>>20, len(archive)>>10)
	}
	if p, _, err := a.Client.KV().Get("kept", nil); err != nil || p == nil {
		t.Fatalf("the state after a refused restore: %v %v", p, err)
	}
}
