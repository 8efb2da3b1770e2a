//go:build !linux

package nodestatus

import (
	"errors"
	"fmt"
)

// SystemHost reads the machine edgecore runs on; only Linux is supported.
type SystemHost struct{}

// Machine implements Host: on this system it knows nothing.
func (SystemHost) Machine() Machine { return Machine{} }

// Resources implements Host: on this system it always fails.
func (SystemHost) Resources() (Resources, error) {
	return Resources{}, fmt.Errorf("read host: %w", errors.ErrUnsupported)
}

// Pressure implements Host: on this system it always fails.
func (SystemHost) Pressure([]string) (PressureReadings, error) {
	return PressureReadings{}, fmt.Errorf("read pressure: %w", errors.ErrUnsupported)
}
