package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/image"
)

var (
	rootfsOnce sync.Once
	rootfsTar  []byte
	rootfsErr  error
)

// busybox is a tar of a root filesystem holding Debian's static busybox,
// its applet links, /etc/passwd and a web root with an index page.
func busybox() ([]byte, error) {
	rootfsOnce.Do(func() { rootfsTar, rootfsErr = buildRootfs() })
	return rootfsTar, rootfsErr
}

func buildRootfs() ([]byte, error) {
	const bin = "/bin/busybox"
	body, err := os.ReadFile(bin)
	if err != nil {
		return nil, fmt.Errorf("busybox-static not installed (.ci/deps installs it): %v", err)
	}
	out, err := exec.Command(bin, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %v", bin, err)
	}
	if ldd, _ := exec.Command("file", bin).Output(); len(ldd) > 0 && !bytes.Contains(ldd, []byte("statically linked")) {
		return nil, fmt.Errorf("%s is not the static busybox (install busybox-static)", bin)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Now()
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Name: name + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: now})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data)), ModTime: now}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	for _, d := range []string{"bin", "sbin", "etc", "tmp", "www", "root", "proc", "sys", "dev"} {
		if err := dir(d); err != nil {
			return nil, err
		}
	}
	if err := file("bin/busybox", 0o755, body); err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(string(out)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777, ModTime: now}); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		"etc/passwd":     "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
		"etc/group":      "root:x:0:\nnogroup:x:65534:\n",
		"www/index.html": "hello from busybox\n",
		"www/health":     "ok\n",
	}
	for name, body := range files {
		if err := file(name, 0o644, []byte(body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// importBusybox loads the busybox image into the engine.
func (e *Engine) importBusybox() error {
	tarball, err := busybox()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rc, err := e.Client.ImageImport(ctx, image.ImportSource{Source: bytes.NewReader(tarball), SourceName: "-"}, Image,
		image.ImportOptions{Changes: []string{`CMD ["/bin/sh"]`, "ENV PATH=/bin"}})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = io.Copy(io.Discard, rc)
	return err
}
