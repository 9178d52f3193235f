package zeros

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
)

// TarGz is a gzipped tar of n regular files of size zero bytes each, the
// i-th named name(i): an archive that is small but large once read. The
// zeros are compressed once: the file is a gzip member for each header
// and one for each file's zeros (the same bytes each time), which a
// gzip reader reads as one stream.
func TarGz(n int, size int64, name func(i int) string) []byte {
	padded := (size + 511) &^ 511 // a tar file's padding is zeros too
	var zeros bytes.Buffer
	gz := gzip.NewWriter(&zeros)
	gz.Write(make([]byte, padded))
	gz.Close()
	var out, hdr bytes.Buffer
	for i := 0; i < n; i++ {
		hdr.Reset()
		tar.NewWriter(&hdr).WriteHeader(&tar.Header{Name: name(i), Typeflag: tar.TypeReg, Mode: 0o600, Size: size})
		gz.Reset(&out)
		gz.Write(hdr.Bytes())
		gz.Close()
		out.Write(zeros.Bytes())
	}
	return out.Bytes()
}
