//go:build !linux

package nodestatus

import (
	"errors"
	"fmt"
)

// SystemHost reads the machine edgecore runs on; only Linux is supported.
type SystemHost struct{}

// Info implements Host: on this system it always fails.
func (SystemHost) Info() (HostInfo, error) {
	return HostInfo{}, fmt.Errorf("read host: %w", errors.ErrUnsupported)
}
