package cli

import (
	"strings"
	"testing"
)

// "-" reads the export from standard input.
func TestKVImportFromStdin(t *testing.T) {
	old := stdin
	t.Cleanup(func() { stdin = old })
	stdin = strings.NewReader("[{\"key\":\"/a\",\"flags\":3,\"value\":\"eA==\"}]\n")
	pairs, err := kvImportPairs("-", "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 1 || pairs[0].Key != "p/a" || string(pairs[0].Value) != "x" || pairs[0].Flags != 3 {
		t.Fatalf("pairs: %+v", pairs[0])
	}
}
