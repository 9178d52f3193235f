package zeros

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"testing"
)

// TarGz reads back as n files of zeros, of the size asked, under their
// names: its gzip members make one stream.
func TestTarGz(t *testing.T) {
	b := TarGz(3, 1000, func(i int) string { return fmt.Sprintf("f%d", i) })
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			if i != 3 {
				t.Fatalf("%d files, want 3", i)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil || hdr.Name != fmt.Sprintf("f%d", i) || len(data) != 1000 || !bytes.Equal(data, make([]byte, 1000)) {
			t.Fatalf("file %d: %q, %d bytes, %v", i, hdr.Name, len(data), err)
		}
	}
}
