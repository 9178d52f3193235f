package snapshot

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
)

// writeWithSums writes state but checksums for sumsOf, to test damage.
func writeWithSums(w io.Writer, meta Meta, state, sumsOf []byte) error {
	mb, _ := json.Marshal(meta)
	sums := fmt.Sprintf("%s  %s\n%s  %s\n", sum(mb), metaName, sum(sumsOf), stateName)
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range []struct {
		name string
		data []byte
	}{{metaName, mb}, {stateName, state}, {sumsName, []byte(sums)}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data))})
		tw.Write(f.data)
	}
	tw.Close()
	return gz.Close()
}
