package output

import (
	"os"

	"golang.org/x/sys/unix"
)

// replace puts the file tmp in place of dest, atomically for readers, and
// names the file left holding the old content, if any, for the caller to
// remove once nothing waits on it. Over an existing regular file it swaps
// the two names: a rename over the file would free the old content's disk
// blocks on the spot (a discard request on SSD-backed file systems) and,
// on ext4, write the new data out first (its guard for renames without
// fsync); both cost disk round trips before the file is visible, while the
// caller syncs it later anyway (see Pending).
func replace(tmp, dest string) (old string, err error) {
	if fi, err := os.Lstat(dest); err == nil && fi.Mode().IsRegular() {
		if unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dest, unix.RENAME_EXCHANGE) == nil {
			return tmp, nil
		}
		// A file system without exchange: rename as usual.
	}
	return "", os.Rename(tmp, dest)
}
