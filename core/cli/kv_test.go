package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestKVPutData(t *testing.T) {
	file := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(file, []byte("from file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	oldStdin := stdin
	t.Cleanup(func() { stdin = oldStdin })
	cases := []struct {
		name    string
		arg     string
		b64     bool
		stdin   string
		want    string
		wantErr string
	}{
		{name: "absent is empty", arg: "", want: ""},
		{name: "literal", arg: "hello world", want: "hello world"},
		{name: "stdin", arg: "-", stdin: "piped\ndata", want: "piped\ndata"},
		{name: "file", arg: "@" + file, want: "from file\n"},
		{name: "missing file", arg: "@" + file + ".nope", wantErr: "reading data file"},
		{name: "base64 literal", arg: "aGVsbG8=", b64: true, want: "hello"},
		{name: "base64 stdin with newline", arg: "-", stdin: "aGVsbG8=\n", b64: true, want: "hello"},
		{name: "bad base64", arg: "not base64!", b64: true, wantErr: "cannot base64-decode"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdin = strings.NewReader(tc.stdin)
			got, err := kvPutData(tc.arg, tc.b64)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestWriteKVDetailed(t *testing.T) {
	p := &api.KVPair{Key: "cfg/x", Value: []byte("hi"), Flags: 42, CreateIndex: 7, ModifyIndex: 9, LockIndex: 1}
	var b bytes.Buffer
	writeKVDetailed(&b, p, false)
	want := `CreateIndex      7
Flags            42
Key              cfg/x
LockIndex        1
ModifyIndex      9
Session          -
Value            hi
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	p.Session = "abc"
	writeKVDetailed(&b, p, true)
	if !strings.Contains(b.String(), "Session          abc\n") || !strings.Contains(b.String(), "Value            aGk=\n") {
		t.Errorf("base64/session output:\n%s", b.String())
	}
}

func TestKVArgErrors(t *testing.T) {
	cases := []struct {
		args   []string
		stderr string
	}{
		{[]string{"get"}, "Error! Missing KEY argument"},
		{[]string{"get", "/"}, "Error! Missing KEY argument"},
		{[]string{"get", "a", "b"}, "Too many arguments (expected 1, got 2)"},
		{[]string{"put"}, "Error! Missing KEY argument"},
		{[]string{"put", "a", "b", "c"}, "Too many arguments (expected 1 or 2, got 3)"},
		{[]string{"put", "-cas", "k", "v"}, "-cas needs -modify-index"},
		{[]string{"put", "-modify-index", "3", "k", "v"}, "-modify-index is only used with -cas"},
		{[]string{"put", "-acquire", "k", "v"}, "Missing -session"},
		{[]string{"put", "-release", "k"}, "Missing -session"},
		{[]string{"put", "-acquire", "-release", "-session", "s", "k"}, "Only one of -cas, -acquire and -release"},
		{[]string{"put", "-flags", "x", "k"}, "invalid value"},
		{[]string{"put", "-base64", "k", "%%%"}, "cannot base64-decode"},
		{[]string{"delete"}, "Missing KEY argument"},
		{[]string{"delete", "a", "b"}, "Too many arguments"},
		{[]string{"delete", "-recurse", "-cas", "-modify-index", "1", "k"}, "cannot combine -cas and -recurse"},
		{[]string{"delete", "-cas", "k"}, "-cas needs -modify-index"},
		{[]string{"delete", "-modify-index", "2", "k"}, "-modify-index is only used with -cas"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runArgs(append([]string{"beacon", "kv"}, tc.args...)...)
			if code != 1 || !strings.Contains(errOut, tc.stderr) {
				t.Errorf("code %d, stderr %q, want 1 and %q", code, errOut, tc.stderr)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}

func TestKVKey(t *testing.T) {
	for in, want := range map[string]string{"/a/b": "a/b", "a/b": "a/b", "": "", "/": ""} {
		if got := kvKey(in); got != want {
			t.Errorf("kvKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// A write's report says whether it was not applied or may have been.
func TestKVWriteReportsItsOutcome(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ok       bool
		err      error
		code     int
		stdout   string
		stderr   string
		notInErr string
	}{
		{name: "applied", ok: true, stdout: "Success! Data written to: cfg/a"},
		{name: "refused", ok: false, code: 1, stderr: "Error! Did not write to cfg/a: CAS failed"},
		{name: "not applied", err: api.StatusError{Code: 500, Body: "No cluster leader"}, code: 1,
			stderr: "Error! Did not write to cfg/a: Unexpected response code: 500 (No cluster leader)"},
		{name: "leadership lost", err: api.StatusError{Code: 500, Body: "leadership lost while committing log"}, code: 1,
			stderr:   "Error! The change to cfg/a may or may not have been applied (read it back to find out): Unexpected response code: 500 (leadership lost while committing log)",
			notInErr: "Did not write"},
		{name: "connection broke", err: errors.New(`Put "http://127.0.0.1:8500/v1/kv/cfg/a": EOF`), code: 1,
			stderr: "may or may not have been applied", notInErr: "Did not write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := kvWrite{
				call:    func() (bool, error) { return tc.ok, tc.err },
				key:     "cfg/a",
				failed:  "Error! Did not write to cfg/a",
				refused: "Error! Did not write to cfg/a: CAS failed",
				done:    "Success! Data written to: cfg/a",
			}
			var out, errb bytes.Buffer
			if code := w.run(&out, &errb); code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", out.String(), errb.String(), tc.stdout, tc.stderr)
			}
			if tc.notInErr != "" && strings.Contains(errb.String(), tc.notInErr) {
				t.Errorf("stderr %q says %q", errb.String(), tc.notInErr)
			}
		})
	}
}
