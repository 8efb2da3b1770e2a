//go:build !linux

package volume

import (
	"errors"
	"io/fs"
)

var errNoMounts = errors.New("memory-backed volumes need Linux")

func mountTmpfs(string, int64) error { return errNoMounts }

func deviceOf(fs.FileInfo) uint64 { return 0 }

// unmountBelow has nothing to do where mountTmpfs mounts nothing.
func unmountBelow(string) error { return nil }
