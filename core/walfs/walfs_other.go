//go:build !linux

package walfs

import (
	walfs "github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/types"
)

// New returns raft-wal's own file system: segments are not zero-filled
// ahead of their appends.
func New() types.VFS { return walfs.New() }
