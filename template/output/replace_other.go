//go:build !linux

package output

import "os"

// replace puts the file tmp in place of dest, atomically for readers.
func replace(tmp, dest string) (old string, err error) { return "", os.Rename(tmp, dest) }
