//go:build !linux

package gc

import "errors"

// statfsUsage is not implemented off Linux, where Edged does not run.
func statfsUsage(string) (used, total uint64, err error) {
	return 0, 0, errors.New("file system usage is only measured on Linux")
}
